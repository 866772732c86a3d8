import { promisify } from "node:util";
import { inflateRaw } from "node:zlib";
import { crc32 } from "../core/crc32.js";
import { FerryError } from "../core/errors.js";
import { sha256Stream } from "../core/hash.js";
import {
  DEFAULT_ZIP_LIMITS,
  entryDataOffset,
  findDirectory,
  LOCAL_HEADER_SIZE,
  MAX_END_SEARCH,
  parseDirectory,
  type ZipEntry,
  type ZipLimits,
} from "../core/zip.js";
import type { FileSystem } from "../ports/fs.js";
import type { MountLayer } from "./layer.js";

const inflate = promisify(inflateRaw);

/**
 * A zip archive read in place: the central directory once at open, then each entry by offset. Nothing is
 * extracted; an entry is inflated only when read, never past its claimed size, and its length and CRC-32
 * must match the directory before a byte is returned.
 */
export class ZipLayer implements MountLayer {
  readonly kind = "zip";
  private constructor(
    readonly uri: string,
    private readonly fs: FileSystem,
    private readonly entries: ReadonlyMap<string, ZipEntry>,
  ) {}

  static async open(uri: string, fs: FileSystem, limits: ZipLimits = DEFAULT_ZIP_LIMITS): Promise<ZipLayer> {
    const stat = await fs.stat(uri);
    if (stat?.kind !== "file")
      throw new FerryError("E_NOT_FOUND", `Zip archive ${uri} is not a regular file.`, { path: uri });
    const tailLength = Math.min(stat.size, MAX_END_SEARCH);
    const tail = await fs.readRange(uri, stat.size - tailLength, tailLength);
    const directory = findDirectory(tail, stat.size, uri);
    if (directory.size > limits.maxDirectoryBytes)
      throw new FerryError(
        "E_TOO_LARGE",
        `The central directory of zip archive ${uri} is ${directory.size} bytes, over the ${limits.maxDirectoryBytes}-byte limit.`,
        { path: uri, size: directory.size, limit: limits.maxDirectoryBytes },
      );
    const bytes = await fs.readRange(uri, directory.offset, directory.size);
    const entries = parseDirectory(bytes, directory, uri, limits);
    return new ZipLayer(uri, fs, new Map(entries.map((e) => [e.name, e])));
  }

  size(path: string): Promise<number | undefined> {
    return Promise.resolve(this.entries.get(path)?.size);
  }

  async read(path: string): Promise<Uint8Array> {
    const entry = this.entries.get(path);
    if (entry === undefined)
      throw new FerryError("E_NOT_FOUND", `${path} is not an entry of zip archive ${this.uri}.`, {
        path,
        mount: this.uri,
      });
    const header = await this.fs.readRange(
      this.uri,
      entry.localHeaderOffset,
      LOCAL_HEADER_SIZE + entry.nameBytes,
    );
    const offset = entryDataOffset(header, entry, this.uri);
    const raw = await this.fs.readRange(this.uri, offset, entry.compressedSize);
    const data = entry.method === 0 ? raw : await this.inflate(raw, entry);
    if (data.length !== entry.size)
      throw new FerryError(
        "E_FORMAT",
        `Entry ${JSON.stringify(path)} of zip archive ${this.uri} holds ${data.length} bytes, its directory says ${entry.size}. Rebuild the archive.`,
        { path, mount: this.uri, expected: entry.size, actual: data.length },
      );
    const crc = crc32(data);
    if (crc !== entry.crc32)
      throw new FerryError(
        "E_HASH_MISMATCH",
        `Entry ${JSON.stringify(path)} of zip archive ${this.uri} fails its CRC-32 check (the archive is corrupt or was tampered with). Replace the archive.`,
        { path, mount: this.uri, expected: entry.crc32, actual: crc },
      );
    return data;
  }

  /** Inflates at most the claimed size (+1, so a longer stream is detected rather than cut). */
  private async inflate(raw: Uint8Array, entry: ZipEntry): Promise<Uint8Array> {
    try {
      return await inflate(raw, { maxOutputLength: entry.size + 1 });
    } catch (cause) {
      const tooLarge = (cause as { code?: string }).code === "ERR_BUFFER_TOO_LARGE";
      throw new FerryError(
        tooLarge ? "E_TOO_LARGE" : "E_FORMAT",
        tooLarge
          ? `Entry ${JSON.stringify(entry.name)} of zip archive ${this.uri} inflates to more than the ${entry.size} bytes it claims (a decompression bomb). Replace the archive.`
          : `Entry ${JSON.stringify(entry.name)} of zip archive ${this.uri} is not valid deflate data: ${(cause as Error).message}. Replace the archive.`,
        { path: entry.name, mount: this.uri },
        { cause },
      );
    }
  }

  async contentHash(): Promise<string> {
    const hash = sha256Stream();
    for await (const block of this.fs.readBlocks(this.uri)) hash.update(block);
    return hash.digest();
  }
}
