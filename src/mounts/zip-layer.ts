import { once } from "node:events";
import { createInflateRaw } from "node:zlib";
import { crc32 } from "../core/crc32.js";
import { FerryError } from "../core/errors.js";
import { sha256Stream } from "../node/node-crypto.js";
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

/** Compressed bytes are read and inflated this many at a time: memory is the entry plus one block. */
export const ZIP_READ_BLOCK = 1024 * 1024;

/**
 * A zip archive read in place: the central directory once at open, then each entry by offset. Nothing is
 * extracted; an entry is inflated only when read, streamed block by block into a buffer of its claimed
 * size (never past it), and its length and CRC-32 must match the directory before a byte is returned.
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
    const data = new Uint8Array(entry.size); // the claimed size, at most limits.maxEntryBytes
    const length =
      entry.method === 0
        ? await this.copyInto(data, offset, entry)
        : await this.inflateInto(data, offset, entry);
    if (length !== entry.size)
      throw new FerryError(
        "E_FORMAT",
        `Entry ${JSON.stringify(path)} of zip archive ${this.uri} holds ${length} bytes, its directory says ${entry.size}. Rebuild the archive.`,
        { path, mount: this.uri, expected: entry.size, actual: length },
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

  /** The entry's stored bytes, block by block. */
  private async *blocks(offset: number, length: number): AsyncGenerator<Uint8Array> {
    for (let at = 0; at < length; at += ZIP_READ_BLOCK)
      yield await this.fs.readRange(this.uri, offset + at, Math.min(ZIP_READ_BLOCK, length - at));
  }

  private async copyInto(data: Uint8Array, offset: number, entry: ZipEntry): Promise<number> {
    let filled = 0;
    for await (const block of this.blocks(offset, entry.compressedSize)) {
      data.set(block.subarray(0, data.length - filled), filled);
      filled += block.length;
    }
    return filled;
  }

  /**
   * Inflates into `data`; stops with E_TOO_LARGE at the first byte past the claimed size (a bomb that lies
   * about its size costs one block of work beyond it, not its real size).
   */
  private async inflateInto(data: Uint8Array, offset: number, entry: ZipEntry): Promise<number> {
    const inflater = createInflateRaw();
    const stop = new AbortController();
    const feeding = (async () => {
      try {
        for await (const block of this.blocks(offset, entry.compressedSize)) {
          if (inflater.destroyed) return;
          if (!inflater.write(block)) await once(inflater, "drain", { signal: stop.signal });
        }
        inflater.end();
      } catch (error) {
        if (!stop.signal.aborted) inflater.destroy(error as Error);
      }
    })();
    let filled = 0;
    try {
      for await (const chunk of inflater as AsyncIterable<Buffer>) {
        if (filled + chunk.length > data.length)
          throw new FerryError(
            "E_TOO_LARGE",
            `Entry ${JSON.stringify(entry.name)} of zip archive ${this.uri} inflates to more than the ${entry.size} bytes it claims (a decompression bomb). Replace the archive.`,
            { path: entry.name, mount: this.uri, claimed: entry.size },
          );
        data.set(chunk, filled);
        filled += chunk.length;
      }
    } catch (cause) {
      if (cause instanceof FerryError) throw cause;
      throw new FerryError(
        "E_FORMAT",
        `Entry ${JSON.stringify(entry.name)} of zip archive ${this.uri} is not valid deflate data: ${(cause as Error).message}. Replace the archive.`,
        { path: entry.name, mount: this.uri },
        { cause },
      );
    } finally {
      stop.abort();
      inflater.destroy();
      await feeding;
    }
    return filled;
  }

  async contentHash(): Promise<string> {
    const hash = sha256Stream();
    for await (const block of this.fs.readBlocks(this.uri)) hash.update(block);
    return hash.digest();
  }
}
