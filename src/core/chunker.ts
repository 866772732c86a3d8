import { createHash } from "node:crypto";
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

export const GEAR: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    table[i] = createHash("sha256").update(`ferry-gear-v1:${i}`).digest().readUInt32BE(0);
  }
  return table;
})();

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
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly params: ChunkingParams = DEFAULT_CHUNKING) {
    validateChunking(params);
  }

  /** Returns the chunks completed by this input. */
  push(input: Uint8Array): Buffer[] {
    this.pending = this.pending.length === 0 ? Buffer.from(input) : Buffer.concat([this.pending, input]);
    return this.drain(false);
  }

  /** Returns the remaining chunks at end of input. */
  finish(): Buffer[] {
    const chunks = this.drain(true);
    this.pending = Buffer.alloc(0);
    return chunks;
  }

  private drain(eof: boolean): Buffer[] {
    const out: Buffer[] = [];
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
