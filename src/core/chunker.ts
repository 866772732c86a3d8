import { FerryError } from "./errors.js";

/** Content-defined chunking, docs/FORMAT.md §3 (`fastcdc-gear32-v1`). */
export interface ChunkingParams {
  readonly algorithm: "fastcdc-gear32-v1";
  readonly min: number;
  readonly avg: number;
  readonly max: number;
}

export const DEFAULT_CHUNKING: ChunkingParams = {
  algorithm: "fastcdc-gear32-v1",
  min: 16384,
  avg: 65536,
  max: 262144,
};

/**
 * GEAR[i] is the first 4 bytes, big-endian, of SHA-256("ferry-gear-v1:<i>") (FORMAT.md §3). Committed
 * as a literal so the core needs no hash to start; test/core/chunker.test.ts recomputes it from the definition.
 */
// prettier-ignore
export const GEAR: Uint32Array = Uint32Array.of(
  0xb83d83ed, 0xafe664f9, 0xfae0e1d7, 0x1c8206e0, 0xa4c93314, 0x27aff8ce, 0xe5d50e1b, 0x7e3e2f6e,
  0x4d9c8bbf, 0xcdaec95a, 0x0ad58633, 0x3abe8a67, 0xa1c17eea, 0xb0e36fff, 0x4da0abcd, 0x39ca4436,
  0xa554cb83, 0x8a6d27b1, 0xe434111d, 0x071858d8, 0xffe41820, 0xd6b47d06, 0x161b5acd, 0xa1120122,
  0x123fd3ee, 0xcc9b4a4a, 0xeb6bf75c, 0x30af1e18, 0x67921302, 0xa2aa9d7d, 0xbebb8b1f, 0x3c963810,
  0xec0ccb13, 0xcb9151ec, 0x2915ee69, 0xe7af653d, 0x76bae31c, 0x19093047, 0x2976370c, 0x6e3265c8,
  0x80ee29fa, 0x6a0fdf55, 0xb3de14c3, 0x4b3689c5, 0x4678b604, 0xfd0a9ace, 0x17132eec, 0x9c82daf6,
  0xec18ca2b, 0xc9fa680f, 0x9177920a, 0xffbac692, 0xe211ef45, 0x9c324d20, 0x2d0f0593, 0xcb2d2c34,
  0x19f3ed07, 0xe71d2ebe, 0x776f3910, 0xa5cfe12c, 0x5b23dbfc, 0x6001a8cb, 0xb7883328, 0xe95fbd05,
  0xf7675ae8, 0x7c6c7d8e, 0xbe0a9fc1, 0x70eee748, 0xb3d412fa, 0xe66b3adb, 0x3fd3d0ce, 0x1353e8f3,
  0x84fe59e1, 0x4716fb43, 0x4e5d1dbf, 0x5f680e49, 0xcb2e836d, 0x6b91492d, 0x72f32f19, 0x49a839ad,
  0x83c3af7e, 0xf728ab6d, 0xa9b00fb2, 0xd4dac34c, 0xfdf74ed4, 0xa853a053, 0x7838d898, 0x15ab85f1,
  0x6b77df9c, 0xa43dc6fb, 0x80ec689b, 0x76580c7b, 0xd2f200b0, 0x2330c91a, 0xfd857d05, 0xa166f2be,
  0xc0781b59, 0xe341cca5, 0xa44b0ac7, 0x269c5bfd, 0x2bc6e509, 0xfdbebbcf, 0xb92f50f5, 0xce2df2fa,
  0x8af2693c, 0x2ff26886, 0x5c9f5161, 0x636fac76, 0x0ab55f07, 0x239f7d93, 0xa4aff192, 0x3a06e553,
  0x70561435, 0x0dfd2297, 0x83ea987b, 0xa4681ecc, 0x7ff1c3c1, 0xff6ca4af, 0x0b2f3863, 0x0439ec1a,
  0x44716af0, 0x43683259, 0x58ef59bd, 0xe76a07cd, 0xb1f2e06e, 0x5499abb2, 0xad4b081e, 0x0c105875,
  0x2a986e90, 0x75802415, 0x67020ea5, 0x9a51295c, 0x8fbacb22, 0xa73ef8de, 0x9d861d6f, 0x891045ac,
  0x928f37b4, 0x94d84c4c, 0x6d38b20c, 0xbe707471, 0x810ec7f7, 0x35f4e17e, 0xfccaaa6a, 0x492ea4ca,
  0x8416c1aa, 0xfef5f225, 0x33793c3c, 0xfd10ff19, 0x48d56283, 0x34f19d37, 0xa5524da4, 0x6dd1bdd6,
  0x3dc4dd62, 0xa12024c2, 0xadd08566, 0xcbbb025c, 0xaa68e64c, 0x48511e0d, 0xdae04415, 0xbbd14d37,
  0x2325c842, 0x3c7d1e0b, 0x09dd3abd, 0xbda031c8, 0x02dd6ba3, 0xf8e7dcb1, 0x3cd86023, 0x2268a24d,
  0xc1fd2985, 0xb74c8206, 0x73bde093, 0xda1c4fda, 0x0a5e2982, 0xec51e861, 0xbc192a0b, 0xba8db569,
  0x2aa6f21d, 0x2f0c2f15, 0x66c5424d, 0xde1831bd, 0x8c68403e, 0x7cc353a8, 0x4c74ef63, 0xd7298713,
  0xf17ce61c, 0x5a0f2cea, 0xb511d4d7, 0x23c867a1, 0xfb8f2277, 0x5969bd03, 0x75f63b89, 0xca6377f7,
  0xd22287b6, 0xee4d5d78, 0xb5a456c5, 0x6411fb4b, 0xd0fee1f8, 0xaa05663c, 0x0c89e6f4, 0xd4415124,
  0x89b81629, 0xfe00b526, 0x6ff355a3, 0xef19f746, 0xf4b647e2, 0xb8676d38, 0x6ba83e2a, 0x78631c2d,
  0x98c0b626, 0xdcfc76ae, 0x23d244b3, 0x90e3c4a3, 0xb11c708f, 0x63095e70, 0x61928fc7, 0x69db2566,
  0x34fe99dc, 0x13b3d22a, 0xf3c0e7af, 0x44e36d05, 0x1b3eef73, 0x0ceb460b, 0xb613b7d2, 0x8d7091d6,
  0x29213a96, 0x4072c996, 0x595760ee, 0x2c62682f, 0x1c03d82c, 0x4a6a8ee0, 0xf32207b6, 0xff5b7692,
  0x4c58a1a6, 0x8676fdbe, 0xdd52f606, 0x776beff5, 0xe37fce6d, 0x052fc379, 0x2afe574a, 0xcd7b79c0,
  0x31a49a1d, 0x939ef3a1, 0x933fb445, 0x41e03245, 0x3b9a82ab, 0xca7b1ee4, 0xc011180a, 0x3bd52b75,
  0x753ff178, 0x3ad10801, 0x63136460, 0xed036a27, 0x1a8d54e7, 0x226be242, 0x0cb2649a, 0x7de879d6,
);

function topBits(count: number): number {
  return count <= 0 ? 0 : ((0xffffffff << (32 - count)) >>> 0) >>> 0;
}

export function validateChunking(params: ChunkingParams): void {
  const { min, avg, max } = params;
  const ok =
    params.algorithm === "fastcdc-gear32-v1" &&
    Number.isSafeInteger(min) &&
    Number.isSafeInteger(avg) &&
    Number.isSafeInteger(max) &&
    min >= 64 &&
    min < avg &&
    avg < max &&
    max <= 16 * 1024 * 1024 &&
    (avg & (avg - 1)) === 0;
  if (!ok) {
    throw new FerryError(
      "E_FORMAT",
      `Invalid chunking parameters ${JSON.stringify(params)}: need 64 <= min < avg < max <= 16 MiB with avg a power of two.`,
    );
  }
}

/**
 * Length of the chunk starting at `start`, or undefined when more data is needed to decide
 * (only possible when `eof` is false). `end` is the end of the available data.
 */
export function cutLength(
  data: Uint8Array,
  start: number,
  end: number,
  eof: boolean,
  params: ChunkingParams,
): number | undefined {
  const remaining = end - start;
  const { min, max } = params;
  if (remaining < max && !eof) {
    // A cut inside the available data is final; past it we must wait for more bytes.
    const found = scan(data, start, remaining, params);
    return found !== undefined && found < remaining ? found : undefined;
  }
  if (remaining <= min) return remaining;
  const n = Math.min(remaining, max);
  return scan(data, start, n, params) ?? n;
}

/** Scans up to `n` bytes from `start`; returns the cut length or undefined if no cut point occurred. */
function scan(data: Uint8Array, start: number, n: number, params: ChunkingParams): number | undefined {
  const { min, avg } = params;
  if (n <= min) return undefined;
  const bits = Math.round(Math.log2(avg));
  const maskS = topBits(bits + 2);
  const maskL = topBits(bits - 2);
  const normal = Math.min(avg, n);
  let h = 0;
  let i = min;
  for (; i < normal; i++) {
    h = ((h << 1) + GEAR[data[start + i]!]!) >>> 0;
    if ((h & maskS) === 0) return i + 1;
  }
  for (; i < n; i++) {
    h = ((h << 1) + GEAR[data[start + i]!]!) >>> 0;
    if ((h & maskL) === 0) return i + 1;
  }
  return undefined;
}

/**
 * Streaming chunker: feed buffers of any size, get the same boundaries as for the whole input at once.
 * Holds at most `max` + one input buffer in memory.
 */
export class Chunker {
  private pending: Uint8Array = new Uint8Array(0);

  constructor(private readonly params: ChunkingParams = DEFAULT_CHUNKING) {
    validateChunking(params);
  }

  /** Returns the chunks completed by this input. */
  push(input: Uint8Array): Uint8Array[] {
    // Always a copy: returned chunks are views of `pending`, so the caller's buffer may be reused.
    this.pending = concat(this.pending, input);
    return this.drain(false);
  }

  /** Returns the remaining chunks at end of input. */
  finish(): Uint8Array[] {
    const chunks = this.drain(true);
    this.pending = new Uint8Array(0);
    return chunks;
  }

  private drain(eof: boolean): Uint8Array[] {
    const out: Uint8Array[] = [];
    let start = 0;
    const data = this.pending;
    while (start < data.length) {
      const length = cutLength(data, start, data.length, eof, this.params);
      if (length === undefined) break;
      out.push(data.subarray(start, start + length));
      start += length;
    }
    this.pending = data.subarray(start);
    return out;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Chunk lengths of a whole buffer (for tests and small inputs). */
export function chunkLengths(data: Uint8Array, params: ChunkingParams = DEFAULT_CHUNKING): number[] {
  const lengths: number[] = [];
  let start = 0;
  while (start < data.length) {
    const length = cutLength(data, start, data.length, true, params)!;
    lengths.push(length);
    start += length;
  }
  return lengths;
}
