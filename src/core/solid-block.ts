import type { Brotli } from "../ports/codec.js";
import { type Codec, decode } from "./codec.js";
import { FerryError } from "./errors.js";

/**
 * Solid blocks (docs/FORMAT.md §4.1): several whole chunks concatenated and stored as one encoded stream,
 * so small similar files share compression context. A chunk in a block is addressed by the block's
 * location in its pack plus its offset in the decoded block; it is still verified by its own SHA-256.
 */

/** The format feature a release with solid blocks lists in `requires`. */
export const SOLID_FEATURE = "solid";
/** Largest decoded block a reader accepts: bounds the memory of one decode. */
export const MAX_BLOCK_SIZE = 4 * 1024 * 1024;
/** A block may not decode to more than this many times its stored length (§5.3: work per byte downloaded). */
export const MAX_BLOCK_RATIO = 1024;

/** Where a chunk lies inside the decoded block its (pack, offset, length, codec) location names. */
export interface SolidLocation {
  readonly blockSize: number;
  readonly blockOffset: number;
}

/** The part of a chunk location that solid blocks use. */
interface BlockChunk {
  readonly hash: string;
  readonly size: number;
  readonly pack: number;
  readonly offset: number;
  readonly length: number;
  readonly codec: Codec;
  readonly solid?: SolidLocation | undefined;
}

/** Why a solid location is invalid, or undefined when it is valid (length and codec of the stored block). */
export function solidLocationProblem(
  solid: SolidLocation,
  size: number,
  length: number,
  codec: Codec,
): string | undefined {
  const { blockSize, blockOffset } = solid;
  if (!Number.isSafeInteger(blockSize) || !Number.isSafeInteger(blockOffset) || blockOffset < 0)
    return "block size or offset not an integer";
  if (blockSize > MAX_BLOCK_SIZE) return `block size ${blockSize} above ${MAX_BLOCK_SIZE}`;
  if (blockSize > MAX_BLOCK_RATIO * length)
    return `block size ${blockSize} above ${MAX_BLOCK_RATIO} times its stored ${length} bytes`;
  if (blockOffset + size > blockSize) return `chunk outside its block`;
  if (codec === "raw" && length !== blockSize) return "raw block whose length is not its size";
  return undefined;
}

/** Identity of a stored block: chunks with the same key share one download and one decode. */
export function blockKey(chunk: BlockChunk): string {
  return `${chunk.pack}:${chunk.offset}`;
}

/**
 * Checks that every chunk naming one block agrees on how the block is stored (length, codec, decoded
 * size); `describe` names the document for the error. Two readers must never decode one block two ways.
 */
export function checkBlockAgreement(chunks: Iterable<BlockChunk>, fail: (what: string) => FerryError): void {
  const blocks = new Map<string, string>();
  for (const chunk of chunks) {
    if (!chunk.solid) continue;
    const key = blockKey(chunk);
    const shape = `${chunk.length}:${chunk.codec}:${chunk.solid.blockSize}`;
    const seen = blocks.get(key);
    if (seen === undefined) blocks.set(key, shape);
    else if (seen !== shape) throw fail(`solid block at pack ${chunk.pack} offset ${chunk.offset}`);
  }
}

/**
 * Decodes a stored block, capped at its declared size (E_TOO_LARGE above it, E_HASH_MISMATCH when it is
 * corrupt or short). The caller verifies each chunk it takes (takeChunk).
 */
export function decodeBlock(port: Brotli, chunk: BlockChunk, stored: Uint8Array, what: string): Uint8Array {
  const solid = chunk.solid;
  if (!solid) throw new FerryError("E_FORMAT", `${what} is not in a solid block.`, { object: what });
  const problem = solidLocationProblem(solid, chunk.size, stored.length, chunk.codec);
  if (problem) {
    throw new FerryError(
      "E_TOO_LARGE",
      `${what}: ${problem}; the metadata is hostile or corrupt, nothing was decoded.`,
      { object: what, blockSize: solid.blockSize, stored: stored.length },
    );
  }
  return decode(port, chunk.codec, stored, solid.blockSize, what);
}

/** A chunk's bytes inside a decoded block (not yet verified: the caller checks its SHA-256). */
export function takeChunk(block: Uint8Array, chunk: BlockChunk): Uint8Array {
  const at = chunk.solid!.blockOffset;
  return block.subarray(at, at + chunk.size);
}
