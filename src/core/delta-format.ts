import { FerryError } from "./errors.js";

/** Shared pieces of `ferry-delta-v1`, docs/FORMAT.md §9. */
export const DELTA_MAGIC = [0x46, 0x44, 0x4c, 0x31]; // "FDL1"
/** Target bytes per window: a decoder holds one window (and its compressed form) at a time. */
export const DELTA_WINDOW = 4 * 1024 * 1024;
/** A window's raw body: three varints, at most one op per target byte (<= 2 varints), the literals. */
export const MAX_WINDOW_BODY = 3 * 8 + DELTA_WINDOW * 17;

export type DeltaOp =
  | { readonly kind: "add"; readonly start: number; readonly length: number }
  | { kind: "copy"; readonly source: number; length: number };

/** Unsigned LEB128, at most 2^53 - 1. */
export function writeVarint(out: number[], value: number): void {
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

export function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

export function unzigzag(n: number): number {
  return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
}

/** A bounds-checked reader over delta bytes; every failure is E_FORMAT naming the delta. */
export class DeltaReader {
  at = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly what: string,
  ) {}

  fail(problem: string): never {
    throw new FerryError(
      "E_FORMAT",
      `The binary delta ${this.what} is malformed (${problem} at byte ${this.at}). The repository or a cache is corrupt or tampered with.`,
      { document: this.what, offset: this.at },
    );
  }

  get remaining(): number {
    return this.bytes.length - this.at;
  }

  varint(max: number, name: string): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (this.at >= this.bytes.length) this.fail(`${name} runs past the end`);
      const b = this.bytes[this.at++]!;
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (value > max) this.fail(`${name} ${value} exceeds ${max}`);
        return value;
      }
      scale *= 0x80;
    }
    return this.fail(`${name} is not a valid varint`);
  }

  take(length: number, name: string): Uint8Array {
    if (length > this.remaining) this.fail(`${name} of ${length} bytes runs past the end`);
    const out = this.bytes.subarray(this.at, this.at + length);
    this.at += length;
    return out;
  }
}
