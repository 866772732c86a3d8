import { FerryError } from "./errors.js";
import { assertSafePath, assertSafePathSet } from "./paths.js";
import { latin1 } from "./bytes.js";

/**
 * Zip archives read in place (docs/CONTENT.md "Zip mounts"): the end record and the central directory are
 * parsed here, pure, from bytes the caller read; entries are then read one by one by offset. Only what a
 * game archive needs is accepted: stored and deflate entries, one disk, no encryption, no zip64. Every
 * entry name goes through the path validator; the central directory must account for every byte between
 * entries, so two entries can never share data (overlap) and a claimed size can never point outside.
 */
export const END_RECORD_SIZE = 22;
/** The end record is at most this far from the end of the file (it may carry a 65535-byte comment). */
export const MAX_END_SEARCH = END_RECORD_SIZE + 0xffff;
export const LOCAL_HEADER_SIZE = 30;
const END_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const CENTRAL_HEADER_SIZE = 46;
const ZIP64_MARK = 0xffffffff;
/** Deflate cannot compress better than about 1032:1; a larger claimed ratio is a lie (a bomb or garbage). */
export const MAX_DEFLATE_RATIO = 1032;

export interface ZipLimits {
  /** Largest uncompressed entry accepted (claimed in the directory, and enforced while inflating). */
  readonly maxEntryBytes: number;
  /** Largest central directory read into memory. */
  readonly maxDirectoryBytes: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = { maxEntryBytes: 1 << 30, maxDirectoryBytes: 64 << 20 };

export interface ZipDirectory {
  readonly offset: number;
  readonly size: number;
  readonly entries: number;
}

export interface ZipEntry {
  readonly name: string;
  /** 0 stored, 8 deflate. */
  readonly method: 0 | 8;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localHeaderOffset: number;
  /** Byte length of the name as stored (the local header must repeat it). */
  readonly nameBytes: number;
  /** The entry's data must end at or before this offset (the next entry's header or the directory). */
  readonly limit: number;
}

function bad(archive: string, what: string, data: Record<string, string | number> = {}): FerryError {
  return new FerryError(
    "E_FORMAT",
    `Zip archive ${archive} is malformed: ${what}. Rebuild the archive with a standard zip tool.`,
    { path: archive, ...data },
  );
}

function unsupported(archive: string, what: string): FerryError {
  return new FerryError(
    "E_UNSUPPORTED_FORMAT",
    `Zip archive ${archive} uses ${what}, which Ferry mounts do not read. Rebuild it with stored or deflate entries, without encryption, under 4 GiB (no zip64).`,
    { path: archive, feature: what },
  );
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Finds the end record in `tail` (the last bytes of a file of `fileSize` bytes). The record's comment
 * must end exactly at the end of the file, and the directory must end exactly where the record starts.
 */
export function findDirectory(tail: Uint8Array, fileSize: number, archive: string): ZipDirectory {
  const v = view(tail);
  const tailStart = fileSize - tail.length;
  for (let i = tail.length - END_RECORD_SIZE; i >= 0; i--) {
    if (v.getUint32(i, true) !== END_SIGNATURE) continue;
    if (v.getUint16(i + 20, true) !== tail.length - i - END_RECORD_SIZE) continue;
    const disk = v.getUint16(i + 4, true);
    const directoryDisk = v.getUint16(i + 6, true);
    const onDisk = v.getUint16(i + 8, true);
    const entries = v.getUint16(i + 10, true);
    const size = v.getUint32(i + 12, true);
    const offset = v.getUint32(i + 16, true);
    if (entries === 0xffff || size === ZIP64_MARK || offset === ZIP64_MARK)
      throw unsupported(archive, "zip64");
    if (disk !== 0 || directoryDisk !== 0 || onDisk !== entries) throw unsupported(archive, "several disks");
    const recordOffset = tailStart + i;
    if (offset + size !== recordOffset)
      throw bad(
        archive,
        `the central directory (offset ${offset}, ${size} bytes) does not end at the end record (${recordOffset})`,
      );
    return { offset, size, entries };
  }
  throw bad(archive, "no end-of-central-directory record");
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

function entryName(bytes: Uint8Array, archive: string): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    const shown = latin1(bytes);
    throw new FerryError(
      "E_UNSAFE_PATH",
      `Unsafe path ${JSON.stringify(shown)} in zip archive ${archive}: the name is not valid UTF-8 [rule invalid-utf8]. Rebuild the archive with UTF-8 names.`,
      { path: shown, rule: "invalid-utf8", reason: "the name is not valid UTF-8", context: archive },
    );
  }
}

interface SpanRecord {
  readonly name: string;
  readonly directory: boolean;
  readonly start: number;
  /** Smallest possible end of the entry's local header + data. */
  readonly minimalEnd: number;
}

/**
 * Parses the central directory (`bytes` = exactly `directory.size` bytes at `directory.offset`) into file
 * entries (directory entries are checked, then left out). Refuses: unsafe or duplicate names, encrypted
 * or zip64 entries, methods other than stored/deflate, claimed sizes over the limit or beyond what
 * deflate can reach, and entries whose data would overlap another entry or the directory.
 */
export function parseDirectory(
  bytes: Uint8Array,
  directory: ZipDirectory,
  archive: string,
  limits: ZipLimits = DEFAULT_ZIP_LIMITS,
): ZipEntry[] {
  if (bytes.length !== directory.size) throw bad(archive, "the central directory was read short");
  const v = view(bytes);
  const context = `zip archive ${archive}`;
  const files: Omit<ZipEntry, "limit">[] = [];
  const records: SpanRecord[] = [];
  let at = 0;
  for (let n = 0; n < directory.entries; n++) {
    if (at + CENTRAL_HEADER_SIZE > bytes.length || v.getUint32(at, true) !== CENTRAL_SIGNATURE)
      throw bad(archive, `central directory entry ${n} is missing or truncated`);
    const flags = v.getUint16(at + 8, true);
    const method = v.getUint16(at + 10, true);
    const crc = v.getUint32(at + 16, true);
    const compressedSize = v.getUint32(at + 20, true);
    const size = v.getUint32(at + 24, true);
    const nameLength = v.getUint16(at + 28, true);
    const extraLength = v.getUint16(at + 30, true);
    const commentLength = v.getUint16(at + 32, true);
    const diskStart = v.getUint16(at + 34, true);
    const localHeaderOffset = v.getUint32(at + 42, true);
    const end = at + CENTRAL_HEADER_SIZE + nameLength + extraLength + commentLength;
    if (end > bytes.length) throw bad(archive, `central directory entry ${n} runs past the directory`);
    const name = entryName(
      bytes.subarray(at + CENTRAL_HEADER_SIZE, at + CENTRAL_HEADER_SIZE + nameLength),
      archive,
    );
    at = end;
    if (compressedSize === ZIP64_MARK || size === ZIP64_MARK || localHeaderOffset === ZIP64_MARK)
      throw unsupported(archive, `zip64 (entry ${JSON.stringify(name)})`);
    if (diskStart !== 0) throw unsupported(archive, "several disks");
    if (flags & 0x41) throw unsupported(archive, `encryption (entry ${JSON.stringify(name)})`);
    const isDirectory = name.endsWith("/");
    assertSafePath(isDirectory ? name.slice(0, -1) : name, context);
    if (method !== 0 && method !== 8)
      throw unsupported(archive, `compression method ${method} (entry ${JSON.stringify(name)})`);
    if (method === 0 && compressedSize !== size)
      throw bad(
        archive,
        `stored entry ${JSON.stringify(name)} claims ${size} bytes but stores ${compressedSize}`,
        { entry: name },
      );
    if (size > limits.maxEntryBytes)
      throw new FerryError(
        "E_TOO_LARGE",
        `Entry ${JSON.stringify(name)} of zip archive ${archive} claims ${size} bytes, more than the ${limits.maxEntryBytes}-byte limit per entry. Split the archive or raise the limit.`,
        { path: archive, entry: name, size, limit: limits.maxEntryBytes },
      );
    if (method === 8 && size > compressedSize * MAX_DEFLATE_RATIO + 1024)
      throw new FerryError(
        "E_TOO_LARGE",
        `Entry ${JSON.stringify(name)} of zip archive ${archive} claims ${size} bytes from ${compressedSize} compressed, a ratio deflate cannot reach (a decompression bomb or a corrupt directory). Rebuild the archive.`,
        { path: archive, entry: name, size, compressedSize },
      );
    if (isDirectory && size !== 0)
      throw bad(archive, `directory entry ${JSON.stringify(name)} has data`, { entry: name });
    const minimalEnd = localHeaderOffset + LOCAL_HEADER_SIZE + nameLength + compressedSize;
    records.push({ name, directory: isDirectory, start: localHeaderOffset, minimalEnd });
    if (!isDirectory)
      files.push({
        name,
        method,
        crc32: crc,
        compressedSize,
        size,
        localHeaderOffset,
        nameBytes: nameLength,
      });
  }
  if (at !== bytes.length)
    throw bad(archive, `${bytes.length - at} unexplained bytes after the central directory entries`);
  assertSafePathSet(
    files.map((f) => f.name),
    context,
  );
  // Entries in file order: each must end before the next begins, the last before the directory.
  const ordered = [...records].sort((a, b) => a.start - b.start);
  const limitOf = new Map<number, number>();
  for (let i = 0; i < ordered.length; i++) {
    const r = ordered[i]!;
    const next = ordered[i + 1]?.start ?? directory.offset;
    if (r.minimalEnd > next)
      throw bad(
        archive,
        `entry ${JSON.stringify(r.name)} (offset ${r.start}) overlaps ${ordered[i + 1] ? JSON.stringify(ordered[i + 1]!.name) : "the central directory"}`,
        { entry: r.name },
      );
    limitOf.set(r.start, next);
  }
  return files.map((f) => ({ ...f, limit: limitOf.get(f.localHeaderOffset)! }));
}

/**
 * The offset of an entry's data, from its local header (`header` = the LOCAL_HEADER_SIZE + nameBytes
 * bytes at localHeaderOffset). The header must repeat the directory's name and method, and the data
 * (with the header's own extra field) must still end within the entry's limit.
 */
export function entryDataOffset(header: Uint8Array, entry: ZipEntry, archive: string): number {
  if (header.length !== LOCAL_HEADER_SIZE + entry.nameBytes)
    throw bad(archive, `the local header of ${JSON.stringify(entry.name)} is truncated`, {
      entry: entry.name,
    });
  const v = view(header);
  if (v.getUint32(0, true) !== LOCAL_SIGNATURE)
    throw bad(
      archive,
      `no local header at offset ${entry.localHeaderOffset} for ${JSON.stringify(entry.name)}`,
      { entry: entry.name },
    );
  const method = v.getUint16(8, true);
  const nameLength = v.getUint16(26, true);
  const extraLength = v.getUint16(28, true);
  if (method !== entry.method || nameLength !== entry.nameBytes)
    throw bad(
      archive,
      `the local header of ${JSON.stringify(entry.name)} disagrees with the central directory`,
      { entry: entry.name },
    );
  let localName: string;
  try {
    localName = strictUtf8.decode(header.subarray(LOCAL_HEADER_SIZE));
  } catch {
    localName = "";
  }
  if (localName !== entry.name)
    throw bad(
      archive,
      `the local header of ${JSON.stringify(entry.name)} names ${JSON.stringify(localName)}`,
      { entry: entry.name },
    );
  const data = entry.localHeaderOffset + LOCAL_HEADER_SIZE + nameLength + extraLength;
  if (data + entry.compressedSize > entry.limit)
    throw bad(archive, `the data of ${JSON.stringify(entry.name)} overlaps the next entry`, {
      entry: entry.name,
    });
  return data;
}
