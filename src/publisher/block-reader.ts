import { decodeBlock, takeChunk } from "../core/solid-block.js";
import type { ChunkRef } from "../core/manifest.js";
import { decode, nodeBrotli } from "../node/node-codec.js";
import type { RepoStore } from "./repo-store.js";

/**
 * Reads a stored chunk back from a pack (the publisher rebuilding an earlier file for a delta). A chunk in
 * a solid block (docs/FORMAT.md §4.1) needs its whole block decoded: the last few decoded blocks are kept,
 * since an earlier release's small files are read in path order and share blocks. Packs are named by their
 * content, so a kept block never goes stale. Undefined when the stored bytes are short; the caller
 * verifies the chunk's SHA-256.
 */
const KEPT_BLOCKS = 4;
const decodedBlocks = new Map<string, Uint8Array>();

export async function readStoredChunk(
  store: RepoStore,
  packPath: string,
  chunk: ChunkRef,
  what: string,
): Promise<Uint8Array | undefined> {
  if (!chunk.solid) {
    const stored = await store.readRange(packPath, chunk.offset, chunk.length);
    return stored.length === chunk.length ? decode(chunk.codec, stored, chunk.size, what) : undefined;
  }
  const key = `${packPath}:${chunk.offset}:${chunk.length}:${chunk.codec}:${chunk.solid.blockSize}`;
  let block = decodedBlocks.get(key);
  if (block) {
    decodedBlocks.delete(key); // re-inserted below: most recently used last
  } else {
    const stored = await store.readRange(packPath, chunk.offset, chunk.length);
    if (stored.length !== chunk.length) return undefined;
    block = decodeBlock(nodeBrotli, chunk, stored, what);
  }
  decodedBlocks.set(key, block);
  while (decodedBlocks.size > KEPT_BLOCKS) decodedBlocks.delete(decodedBlocks.keys().next().value!);
  return takeChunk(block, chunk);
}
