import type { Brotli } from "../../ports/codec.js";
import type { Crypto, Sha256Hasher } from "../../ports/crypto.js";
import { FerryError } from "../../core/errors.js";
import type { ChunkRef } from "../../core/manifest.js";
import type { ChunkSource, FileWrite } from "../../core/planner.js";
import type { FileStat, FileSystem } from "../../ports/fs.js";
import { writeFromDelta } from "./apply-delta.js";
import type { InstallLayout } from "../install/layout.js";

export interface AssembleDeps {
  readonly fs: FileSystem;
  readonly layout: InstallLayout;
  /** Downloads one chunk into staging (when a local or staged copy turns out to be damaged). */
  readonly refetch: (chunk: ChunkRef) => Promise<void>;
  /** Decodes delta windows. */
  readonly brotli: Brotli;
  /** Verifies chunks and the assembled file. */
  readonly crypto: Crypto;
}

/** How a file was built: from its chunks, from its delta, or from its chunks because the delta's source changed. */
export type AssembledFrom = "chunks" | "delta" | "delta-fallback";

/**
 * Builds one new file in staging from its delta or its chunk sources, verifying every chunk (or the
 * delta's object and source) and then the whole file (SHA-256 and size) before it can be committed.
 * Returns the staged file's stat (for the stat cache).
 */
export async function assembleFile(
  deps: AssembleDeps,
  write: FileWrite,
  stagedName: string,
): Promise<{ reusedBytes: number; stat: FileStat; from: AssembledFrom }> {
  const { fs, layout } = deps;
  const target = layout.stagedFile(stagedName);
  if (write.file.link !== undefined)
    return { reusedBytes: 0, stat: await stageLink(deps, write, target), from: "chunks" };
  const writer = await fs.createWriter(target, write.file.executable ? 0o755 : 0o644);
  const whole = deps.crypto.createSha256();
  let reusedBytes = 0;
  let from: AssembledFrom = "chunks";
  try {
    if (write.delta) {
      const applied = await writeFromDelta(deps, write.delta, write.file, writer, whole);
      from = applied ? "delta" : "delta-fallback";
      reusedBytes += applied?.copiedBytes ?? 0;
    }
    for (const [i, chunk] of (from === "delta" ? [] : write.file.chunks).entries()) {
      const source = write.sources[i]!;
      let data = await readSource(deps.crypto, fs, layout, source, chunk);
      if (data === undefined) {
        await deps.refetch(chunk);
        data = await readSource(deps.crypto, fs, layout, { kind: "store" }, chunk);
        if (data === undefined) {
          throw new FerryError(
            "E_IO",
            `Chunk ${chunk.hash} of ${write.file.path} could not be read back from ${layout.stagedChunk(chunk.hash)} after download. Check the disk.`,
            {
              path: write.file.path,
            },
          );
        }
      } else if (source.kind === "local") {
        reusedBytes += chunk.size;
      }
      whole.update(data);
      await writer.write(data);
    }
    await writer.commit();
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return { reusedBytes, stat: await finishStaged(deps, write, stagedName, whole), from };
}

/**
 * A staged file's last steps once its writer committed: its SHA-256 and size checked against the
 * manifest, its mode set, its stat returned (for the stat cache).
 */
export async function finishStaged(
  deps: { readonly fs: FileSystem; readonly layout: InstallLayout },
  write: FileWrite,
  stagedName: string,
  whole: Sha256Hasher,
): Promise<FileStat> {
  const { fs, layout } = deps;
  const target = layout.stagedFile(stagedName);
  const actual = await whole.digest();
  if (actual !== write.file.sha256 || whole.length !== write.file.size) {
    throw new FerryError(
      "E_HASH_MISMATCH",
      `Assembled ${write.file.path} has sha256 ${actual}, expected ${write.file.sha256}. Nothing was installed; run the update again.`,
      {
        path: write.file.path,
        expected: write.file.sha256,
        actual,
      },
    );
  }
  await fs.chmod(target, write.file.executable ? 0o755 : 0o644);
  const stat = await fs.stat(target);
  if (!stat) throw new FerryError("E_IO", `Staged file ${target} vanished.`, { path: target });
  return stat;
}

/** A link is staged as a link (its target was checked against its hash when the release was read). */
async function stageLink({ fs }: AssembleDeps, write: FileWrite, target: string): Promise<FileStat> {
  const link = write.file.link!;
  if (!fs.symlink)
    throw new FerryError(
      "E_SYMLINK",
      `Cannot create the link ${write.file.path}: this file system has no symbolic links.`,
      { path: write.file.path },
    );
  // A staged name left by an interrupted run is replaced: staging is never read before it is complete.
  if (await fs.stat(target)) await fs.unlink(target);
  await fs.symlink(link, target);
  const stat = await fs.stat(target);
  if (stat?.kind !== "symlink")
    throw new FerryError("E_IO", `Staged link ${target} vanished.`, { path: target });
  return stat;
}

/** The chunk's bytes from its source, or undefined when that copy is missing or damaged. */
export async function readSource(
  crypto: Crypto,
  fs: FileSystem,
  layout: InstallLayout,
  source: ChunkSource,
  chunk: ChunkRef,
): Promise<Uint8Array | undefined> {
  let data: Uint8Array;
  if (source.kind === "local") {
    try {
      data = await fs.readRange(layout.file(source.path), source.offset, chunk.size);
    } catch {
      return undefined; // the local copy vanished since indexing: download the chunk instead
    }
  } else {
    const path = layout.stagedChunk(chunk.hash);
    if (!(await fs.stat(path))) return undefined;
    data = await fs.readFile(path);
  }
  if (data.length !== chunk.size || (await crypto.sha256(data)) !== chunk.hash) {
    if (source.kind === "store") await fs.unlink(layout.stagedChunk(chunk.hash));
    return undefined;
  }
  return data;
}
