import type { Brotli } from "../../ports/codec.js";
import type { Crypto } from "../../ports/crypto.js";
import { applyDelta } from "../../core/delta-apply.js";
import { FerryError } from "../../core/errors.js";
import type { ChunkRef } from "../../core/manifest.js";
import { deltaChunk, type DeltaSource } from "../../core/planner.js";
import type { FileSystem, FileWriter } from "../../ports/fs.js";
import type { InstallLayout } from "../install/layout.js";

/**
 * Rebuilds a file from a staged delta object and a local source file (docs/FORMAT.md §9), streaming
 * the output into `writer` and `whole`. Memory: the delta object (at most MAX_DELTA_SIZE) plus one
 * window and one source block.
 *
 * Returns the bytes copied from the source, or undefined, having written nothing, when the source no longer holds the delta's `from` content
 * (it changed or vanished after planning): the caller then builds the file from its chunks. The source
 * is verified once, before use; a change during the apply shows up in the caller's final hash check.
 */
export async function writeFromDelta(
  deps: {
    readonly fs: FileSystem;
    readonly layout: InstallLayout;
    readonly refetch: (chunk: ChunkRef) => Promise<void>;
    readonly brotli: Brotli;
    readonly crypto: Crypto;
  },
  delta: DeltaSource,
  target: { readonly path: string; readonly size: number },
  writer: FileWriter,
  whole: { update(data: Uint8Array): void },
): Promise<{ copiedBytes: number } | undefined> {
  const { fs, layout } = deps;
  const sourcePath = layout.file(delta.sourcePath);
  if (!(await holds(deps.crypto, fs, sourcePath, delta.ref.from, delta.ref.fromSize))) return undefined;
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
    (offset, length) => fs.readRange(sourcePath, offset, length),
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

/** Does the file at `path` have this SHA-256 and size now? A missing or unreadable file does not. */
async function holds(
  crypto: Crypto,
  fs: FileSystem,
  path: string,
  hash: string,
  size: number,
): Promise<boolean> {
  const stat = await fs.stat(path);
  if (stat?.kind !== "file" || stat.size !== size) return false;
  const digest = crypto.createSha256();
  try {
    for await (const block of fs.readBlocks(path)) digest.update(block);
  } catch {
    return false; // vanished or unreadable since planning: the chunks are the way
  }
  return digest.length === size && (await digest.digest()) === hash;
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
