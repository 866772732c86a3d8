import type { Brotli } from "../ports/codec.js";
import { brotli } from "./codec.js";
import { DELTA_MAGIC, DELTA_WINDOW, type DeltaOp, writeVarint, zigzag } from "./delta-format.js";

/**
 * Binary delta encoder, `ferry-delta-v1` (docs/FORMAT.md §9): the target expressed as copies from the
 * source and literal additions. Matches are found through a hash index of the source (seeds of SEED
 * bytes, rolling hash over the target), extended forwards and backwards; after a copy the encoder first
 * tries to continue at the same source displacement, which turns in-place edits into short literals.
 * Publisher-side only: memory is about the source plus an index of at most INDEX_LIMIT entries.
 */
const SEED = 16;
/** A continuation at the expected source offset pays from this length (a COPY costs ~2 bytes). */
const CONTINUE_MIN = 8;
const INDEX_LIMIT = 1 << 22;
const BASE = 0x01000193;

function seedPower(): number {
  let p = 1;
  for (let i = 0; i < SEED - 1; i++) p = Math.imul(p, BASE);
  return p;
}
const TOP = seedPower();

function hashAt(data: Uint8Array, at: number): number {
  let h = 0;
  for (let i = 0; i < SEED; i++) h = (Math.imul(h, BASE) + data[at + i]!) | 0;
  return h;
}

class SourceIndex {
  private readonly table: Int32Array;
  private readonly shift: number;

  constructor(source: Uint8Array) {
    const positions = Math.max(0, source.length - SEED + 1);
    const step = Math.max(1, Math.ceil(positions / INDEX_LIMIT));
    const entries = Math.ceil(positions / step);
    const bits = Math.max(4, Math.ceil(Math.log2(Math.max(2, entries * 2))));
    this.table = new Int32Array(1 << bits);
    this.shift = 32 - bits;
    if (positions === 0) return;
    // Later positions overwrite earlier ones in a bucket; either is a fine candidate.
    let h = hashAt(source, 0);
    for (let p = 0; ;) {
      if (p % step === 0) this.table[this.bucket(h)] = p + 1;
      if (p + SEED >= source.length) break;
      h = (Math.imul(h - Math.imul(source[p]!, TOP), BASE) + source[p + SEED]!) | 0;
      p++;
    }
  }

  bucket(h: number): number {
    return Math.imul(h, 0x9e3779b1) >>> this.shift;
  }

  candidate(h: number): number {
    return this.table[this.bucket(h)]! - 1;
  }
}

function matchForward(a: Uint8Array, ai: number, b: Uint8Array, bi: number): number {
  let n = 0;
  const max = Math.min(a.length - ai, b.length - bi);
  while (n < max && a[ai + n] === b[bi + n]) n++;
  return n;
}

/** The copy/add operations that rebuild `target` from `source`. */
export function diff(source: Uint8Array, target: Uint8Array): DeltaOp[] {
  const ops: DeltaOp[] = [];
  const index = new SourceIndex(source);
  let literalStart = 0;
  let i = 0;
  let expected = -1; // source offset that continues the last copy at the same displacement
  let h = target.length >= SEED ? hashAt(target, 0) : 0;
  let hashedAt = 0;

  const emitCopy = (targetAt: number, sourceAt: number, length: number) => {
    if (targetAt > literalStart)
      ops.push({ kind: "add", start: literalStart, length: targetAt - literalStart });
    const last = ops.at(-1);
    if (last?.kind === "copy" && last.source + last.length === sourceAt) last.length += length;
    else ops.push({ kind: "copy", source: sourceAt, length });
    literalStart = targetAt + length;
    i = literalStart;
    expected = sourceAt + length;
  };

  while (i + SEED <= target.length) {
    if (expected >= 0 && expected < source.length) {
      const shifted = expected + (i - literalStart);
      const n = shifted < source.length ? matchForward(source, shifted, target, i) : 0;
      if (n >= CONTINUE_MIN) {
        emitCopy(i, shifted, n);
        continue;
      }
    }
    if (hashedAt !== i) {
      h = hashAt(target, i);
      hashedAt = i;
    }
    const c = index.candidate(h);
    if (c >= 0) {
      const forward = matchForward(source, c, target, i);
      if (forward >= SEED) {
        let back = 0;
        while (i - back > literalStart && c - back > 0 && source[c - back - 1] === target[i - back - 1])
          back++;
        emitCopy(i - back, c - back, forward + back);
        continue;
      }
    }
    if (i + SEED < target.length) {
      h = (Math.imul(h - Math.imul(target[i]!, TOP), BASE) + target[i + SEED]!) | 0;
      hashedAt = i + 1;
    }
    i++;
  }
  // A tail shorter than a seed can still continue the last copy.
  if (expected >= 0 && i < target.length) {
    const shifted = expected + (i - literalStart);
    const n = shifted < source.length ? matchForward(source, shifted, target, i) : 0;
    if (n >= CONTINUE_MIN || (n > 0 && i + n === target.length && n >= 4)) emitCopy(i, shifted, n);
  }
  if (target.length > literalStart)
    ops.push({ kind: "add", start: literalStart, length: target.length - literalStart });
  return ops;
}

/**
 * Serializes ops into windows of at most DELTA_WINDOW target bytes, each Brotli-compressed on its own
 * so a decoder holds one window at a time.
 */
export function encodeDelta(port: Brotli, source: Uint8Array, target: Uint8Array, quality = 11): Uint8Array {
  const ops = diff(source, target);
  const out: number[] = [...DELTA_MAGIC];
  writeVarint(out, source.length);
  writeVarint(out, target.length);
  const parts: Uint8Array[] = [Uint8Array.from(out)];
  let opIndex = 0;
  let consumed = 0; // bytes of ops[opIndex] already emitted in earlier windows
  for (let windowStart = 0; windowStart < target.length; windowStart += DELTA_WINDOW) {
    const windowLength = Math.min(DELTA_WINDOW, target.length - windowStart);
    const body: number[] = [];
    const literals: Uint8Array[] = [];
    let literalBytes = 0;
    let filled = 0;
    let lastCopyEnd = 0;
    const opBytes: number[] = [];
    let opCount = 0;
    while (filled < windowLength) {
      const op = ops[opIndex]!;
      const take = Math.min(op.length - consumed, windowLength - filled);
      if (op.kind === "add") {
        writeVarint(opBytes, take * 2);
        literals.push(target.subarray(op.start + consumed, op.start + consumed + take));
        literalBytes += take;
      } else {
        writeVarint(opBytes, take * 2 + 1);
        writeVarint(opBytes, zigzag(op.source + consumed - lastCopyEnd));
        lastCopyEnd = op.source + consumed + take;
      }
      opCount++;
      filled += take;
      consumed += take;
      if (consumed === op.length) {
        opIndex++;
        consumed = 0;
      }
    }
    writeVarint(body, windowLength);
    writeVarint(body, opCount);
    writeVarint(body, literalBytes);
    const raw = new Uint8Array(body.length + opBytes.length + literalBytes);
    raw.set(body, 0);
    raw.set(opBytes, body.length);
    let at = body.length + opBytes.length;
    for (const l of literals) {
      raw.set(l, at);
      at += l.length;
    }
    const compressed = brotli(port, raw, quality);
    const header: number[] = [];
    writeVarint(header, raw.length);
    writeVarint(header, compressed.length);
    parts.push(Uint8Array.from(header), compressed);
  }
  const total = parts.reduce((s, p) => s + p.length, 0);
  const result = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    result.set(p, at);
    at += p.length;
  }
  return result;
}
