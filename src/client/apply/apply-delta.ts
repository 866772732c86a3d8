import type { Brotli } from "../../ports/codec.js";
import type { Crypto } from "../../ports/crypto.js";
import { applyDelta, type SourceReader } from "../../core/delta-apply.js";
import { FerryError } from "../../core/errors.js";
import type { ChunkRef } from "../../core/manifest.js";
import { deltaChunk, type DeltaSource } from "../../core/planner.js";
import type { FileSystem, FileWriter } from "../../ports/fs.js";
import type { InstallLayout } from "../install/layout.js";

/**
 * Source files up to this size are read once into memory (while their hash is checked) and a delta's
 * copies are served from there: a delta's copies jump around its source, and re-reading a 1 MiB block
 * per jump read one font's source 8.4 GB in 12,164 reads (issue 16). Larger sources go through a
 * cache of SOURCE_BLOCK-sized blocks, SOURCE_CACHE_BLOCKS of them, least recently used evicted.
 */
export const DELTA_SOURCE_IN_MEMORY = 64 * 1024 * 1024;
const SOURCE_BLOCK = 4 * 1024 * 1024;
const SOURCE_CACHE_BLOCKS = 16;

/**
 * Rebuilds a file from a staged delta object and a local source file (docs/FORMAT.md §9), streaming
 * the output into `writer` and `whole`. Memory: the delta object (at most MAX_DELTA_SIZE), one window,
 * and the source when it fits DELTA_SOURCE_IN_MEMORY (else a block cache of 64 MiB).
 *
 * Returns the bytes copied from the source, or undefined, having written nothing, when the source no
 * longer holds the delta's `from` content (it changed or vanished after planning): the caller then
 * builds the file from its chunks. The source is verified once, before use (an in-memory source is
 * the verified bytes themselves); a change during the apply shows up in the caller's final hash check.
 */
export async function writeFromDelta(
  deps: {
    readonly fs: FileSystem;
    readonly layout: InstallLayout;
    readonly refetch: (chunk: ChunkRef) => Promise<void>;
    readonly brotli: Brotli;
    readonly crypto: Crypto;
    /** Largest source held in memory (default DELTA_SOURCE_IN_MEMORY); a larger one is block-cached. */
    readonly sourceInMemory?: number;
  },
  delta: DeltaSource,
  target: { readonly path: string; readonly size: number },
  writer: FileWriter,
  whole: { update(data: Uint8Array): void },
): Promise<{ copiedBytes: number } | undefined> {
  const { fs, layout } = deps;
  const sourcePath = layout.file(delta.sourcePath);
  const budget = deps.sourceInMemory ?? DELTA_SOURCE_IN_MEMORY;
  const ref = delta.ref;
  const source = await verifiedSource(deps.crypto, fs, sourcePath, ref.from, ref.fromSize, budget);
  if (!source) return undefined;
  const object = deltaChunk(delta.ref);
  let bytes = await readStaged(deps.crypto, fs, layout, object);
  if (!bytes) {
    await deps.refetch(object);
    bytes = await readStaged(deps.crypto, fs, layout, object);
    if (!bytes) {
      throw new FerryError(
        "E_IO",
        `Delta ${object.hash} for ${target.path} could not be read back from ${layout.stagedChunk(object.hash)} after download. Check the disk.`,
        { path: target.path },
      );
    }
  }
  const counters = { copiedBytes: 0 };
  const windows = applyDelta(
    deps.brotli,
    bytes,
    source,
    { sourceSize: delta.ref.fromSize, targetSize: target.size },
    `delta ${object.hash} for ${target.path}`,
    counters,
  );
  for await (const window of windows) {
    whole.update(window);
    await writer.write(window);
  }
  return counters;
}

/**
 * A reader of the file at `path` if it has this SHA-256 and size now, else undefined (a missing or
 * unreadable file does not). A source that fits `budget` bytes is kept from the hashing read.
 */
async function verifiedSource(
  crypto: Crypto,
  fs: FileSystem,
  path: string,
  hash: string,
  size: number,
  budget: number,
): Promise<SourceReader | undefined> {
  const stat = await fs.stat(path);
  if (stat?.kind !== "file" || stat.size !== size) return undefined;
  const digest = crypto.createSha256();
  const held = size <= budget ? new Uint8Array(size) : undefined;
  try {
    for await (const block of fs.readBlocks(path)) {
      if (held && digest.length + block.length <= size) held.set(block, digest.length);
      digest.update(block);
    }
  } catch {
    return undefined; // vanished or unreadable since planning: the chunks are the way
  }
  if (digest.length !== size || (await digest.digest()) !== hash) return undefined;
  if (held) return (offset, length) => Promise.resolve(held.subarray(offset, offset + length));
  return blockCache((offset, length) => fs.readRange(path, offset, length), size);
}

/**
 * Serves reads from aligned SOURCE_BLOCK blocks, keeping the SOURCE_CACHE_BLOCKS most recently used: a
 * source is read about once when a delta's copies stay within that much of each other.
 */
function blockCache(read: SourceReader, size: number): SourceReader {
  const blocks = new Map<number, Uint8Array>(); // insertion order = least recently used first
  const block = async (index: number): Promise<Uint8Array> => {
    let data = blocks.get(index);
    if (data) {
      blocks.delete(index);
    } else {
      const start = index * SOURCE_BLOCK;
      data = await read(start, Math.min(SOURCE_BLOCK, size - start));
      if (blocks.size >= SOURCE_CACHE_BLOCKS) blocks.delete(blocks.keys().next().value!);
    }
    blocks.set(index, data);
    return data;
  };
  return async (offset, length) => {
    const first = Math.floor(offset / SOURCE_BLOCK);
    const last = Math.floor((offset + Math.max(length, 1) - 1) / SOURCE_BLOCK);
    if (first === last) {
      const data = await block(first);
      const from = offset - first * SOURCE_BLOCK;
      return data.subarray(from, from + length);
    }
    const out = new Uint8Array(length);
    for (let i = first; i <= last; i++) {
      const data = await block(i);
      const blockStart = i * SOURCE_BLOCK;
      const from = Math.max(offset, blockStart);
      const to = Math.min(offset + length, blockStart + data.length);
      if (to > from) out.set(data.subarray(from - blockStart, to - blockStart), from - offset);
    }
    return out;
  };
}

/** The staged object's bytes if present and intact; a damaged copy is removed. */
async function readStaged(
  crypto: Crypto,
  fs: FileSystem,
  layout: InstallLayout,
  object: ChunkRef,
): Promise<Uint8Array | undefined> {
  const path = layout.stagedChunk(object.hash);
  if (!(await fs.stat(path))) return undefined;
  const data = await fs.readFile(path);
  if (data.length === object.size && (await crypto.sha256(data)) === object.hash) return data;
  await fs.unlink(path);
  return undefined;
}
