import { deflateRawSync } from "node:zlib";
import { crc32 } from "../core/crc32.js";

/**
 * A tiny zip writer for tests: honest archives by default, and every field a hostile archive would lie
 * about can be overridden per entry (names, sizes, CRC, flags, offsets). Never used in production paths.
 */
export interface TestZipEntry {
  readonly name: string;
  /** Bytes; ignored for a directory entry (name ending in '/'). */
  readonly data?: Uint8Array;
  /** 0 stored (default), 8 deflate. */
  readonly method?: 0 | 8;
  readonly claimedSize?: number;
  readonly claimedCompressedSize?: number;
  readonly crc?: number;
  readonly flags?: number;
  /** The name the local header carries (default: the same as the central directory). */
  readonly localName?: string;
  /** Point the central record at the local header of an earlier entry (by index): overlapping entries. */
  readonly sameOffsetAs?: number;
  /** Raw name bytes for the central record (e.g. invalid UTF-8), instead of `name`. */
  readonly rawName?: Uint8Array;
}

const utf8 = new TextEncoder();

function u16(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff];
}

function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

export function buildZip(entries: readonly TestZipEntry[], options: { comment?: string } = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  const offsets: number[] = [];
  let offset = 0;
  for (const e of entries) {
    const data = e.name.endsWith("/") ? new Uint8Array(0) : (e.data ?? new Uint8Array(0));
    const method = e.method ?? 0;
    const stored = method === 8 ? new Uint8Array(deflateRawSync(data)) : data;
    const crc = e.crc ?? crc32(data);
    const size = e.claimedSize ?? data.length;
    const compressed =
      e.claimedCompressedSize ?? (method === 0 && e.claimedSize !== undefined ? size : stored.length);
    const flags = e.flags ?? 0x800; // bit 11: names are UTF-8
    const name = e.rawName ?? utf8.encode(e.name);
    const localName = e.localName === undefined ? name : utf8.encode(e.localName);
    const local = Uint8Array.from([
      ...u32(0x04034b50),
      ...u16(20),
      ...u16(flags),
      ...u16(method),
      ...u16(0),
      ...u16(0x21),
      ...u32(crc),
      ...u32(compressed),
      ...u32(size),
      ...u16(localName.length),
      ...u16(0),
    ]);
    offsets.push(offset);
    const at = e.sameOffsetAs === undefined ? offset : offsets[e.sameOffsetAs]!;
    parts.push(local, localName, stored);
    offset += local.length + localName.length + stored.length;
    central.push(
      Uint8Array.from([
        ...u32(0x02014b50),
        ...u16(0x031e),
        ...u16(20),
        ...u16(flags),
        ...u16(method),
        ...u16(0),
        ...u16(0x21),
        ...u32(crc),
        ...u32(compressed),
        ...u32(size),
        ...u16(name.length),
        ...u16(0),
        ...u16(0),
        ...u16(0),
        ...u16(0),
        ...u32(0),
        ...u32(at),
      ]),
      name,
    );
  }
  const directorySize = central.reduce((n, c) => n + c.length, 0);
  const comment = utf8.encode(options.comment ?? "");
  const end = Uint8Array.from([
    ...u32(0x06054b50),
    ...u16(0),
    ...u16(0),
    ...u16(entries.length),
    ...u16(entries.length),
    ...u32(directorySize),
    ...u32(offset),
    ...u16(comment.length),
  ]);
  return Buffer.concat([...parts, ...central, end, comment]);
}
