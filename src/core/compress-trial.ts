import type { PublisherBrotli } from "../ports/codec.js";
import { chooseEncoding, type Encoded, windowBits, worthCompressing } from "./codec.js";

/**
 * The publisher's per-chunk codec choice by measurement (docs/FORMAT.md §4), in place of a list of
 * "already compressed" extensions: a quality-1 trial on (a sample of) the chunk predicts whether the
 * real encode would save the 3 % that `br` needs. Only a chunk the trial cannot shrink at all skips
 * the real encode, and the real result still goes through chooseEncoding, so the trial can only cost
 * bytes where it says "no" wrongly.
 *
 * Measured per chunk on the corpus (docs/BENCHMARKS.md, "Publisher: codec choice"): the rule missed
 * 89 of 4,528 OpenRCT2 chunks that quality 8 would have shrunk by 3 % (7.6 KB of 12.3 MB stored) and
 * 4 of 525 Shattered Pixel Dungeon chunks (186 bytes); quality 1 costs about a tenth of quality 8 on
 * incompressible data (1.2 vs 14.7 ms per 64 KiB), which it then skips.
 */
export async function encodeChunkMeasured(
  port: PublisherBrotli,
  data: Uint8Array,
  quality: number,
): Promise<Encoded> {
  if (!worthCompressing(data)) return { codec: "raw", bytes: data };
  if (!(await trialShrinks(port, data))) return { codec: "raw", bytes: data };
  const options = { quality, sizeHint: data.length, windowBits: windowBits(data.length) };
  return chooseEncoding(data, await port.compressAsync(data, options));
}

/** Chunks up to this size are tried whole; larger ones through TRIAL_SLICES slices of TRIAL_SLICE bytes. */
export const TRIAL_WHOLE = 16 * 1024;
const TRIAL_SLICE = 4 * 1024;
const TRIAL_SLICES = 4;

/** True when brotli quality 1 makes the sample no larger than it is (then the real encode is run). */
export async function trialShrinks(port: PublisherBrotli, data: Uint8Array): Promise<boolean> {
  const sample = trialSample(data);
  const out = await port.compressAsync(sample, {
    quality: 1,
    sizeHint: sample.length,
    windowBits: windowBits(sample.length),
  });
  return out.length <= sample.length;
}

/** The bytes the trial compresses: the whole chunk, or slices spread evenly over it (first and last included). */
export function trialSample(data: Uint8Array): Uint8Array {
  if (data.length <= TRIAL_WHOLE) return data;
  const sample = new Uint8Array(TRIAL_SLICE * TRIAL_SLICES);
  const step = (data.length - TRIAL_SLICE) / (TRIAL_SLICES - 1);
  for (let i = 0; i < TRIAL_SLICES; i++) {
    const at = Math.round(step * i);
    sample.set(data.subarray(at, at + TRIAL_SLICE), i * TRIAL_SLICE);
  }
  return sample;
}
