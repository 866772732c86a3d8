import type { Brotli } from "../../ports/codec.js";
import type { ChunkRef } from "../../core/manifest.js";
import { blockKey, decodeBlock, takeChunk } from "../../core/solid-block.js";

/**
 * The fetcher's decoded solid block (docs/FORMAT.md §4.1): the chunks of one block arrive together (one
 * range, sorted by offset), so keeping the last decoded block decodes each block once per download, not
 * once per chunk taken from it. The kept block is tied to the downloaded buffer it came from: bytes from
 * another answer (a retry, another mirror) are decoded afresh, and a failed chunk drops it.
 */
export class BlockDecoder {
  private last:
    | { key: string; buffer: ArrayBufferLike; byteOffset: number; length: number; block: Uint8Array }
    | undefined;

  constructor(private readonly brotli: Brotli) {}

  /** The chunk's bytes from its block's stored bytes (the caller verifies the chunk's SHA-256). */
  chunk(chunk: ChunkRef, stored: Uint8Array, what: string): Uint8Array {
    const key = blockKey(chunk);
    const last = this.last;
    if (
      last?.key === key &&
      last.buffer === stored.buffer &&
      last.byteOffset === stored.byteOffset &&
      last.length === stored.length
    )
      return takeChunk(last.block, chunk);
    this.last = undefined;
    const block = decodeBlock(this.brotli, chunk, stored, what);
    this.last = { key, buffer: stored.buffer, byteOffset: stored.byteOffset, length: stored.length, block };
    return takeChunk(block, chunk);
  }

  /** Forgets the kept block (a chunk from it failed verification). */
  drop(): void {
    this.last = undefined;
  }
}
