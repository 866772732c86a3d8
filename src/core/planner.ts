import type { ChunkRef, FileEntry, Manifest } from "./manifest.js";
import { type CoalesceOptions, coalesce, DEFAULT_COALESCE, type PackRange } from "./ranges.js";

/** A file as it is known to be on disk (hash trusted: verified or stat-cache matched). */
export interface LocalFile {
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
  readonly executable: boolean;
  /** Chunks in file order, as [hash, size]; offsets follow from the sizes. */
  readonly chunks: readonly (readonly [hash: string, size: number])[];
  /** True when the installed release tracks this file (only tracked files may be deleted). */
  readonly tracked: boolean;
}

/** Where the bytes of one chunk of a new file come from. */
export type ChunkSource =
  { readonly kind: "local"; readonly path: string; readonly offset: number } | { readonly kind: "store" }; // staging/chunks: already there (resume) or fetched by this plan

export interface FileWrite {
  readonly file: FileEntry;
  /** Aligned with file.chunks. */
  readonly sources: readonly ChunkSource[];
}

export interface Plan {
  readonly keep: readonly string[];
  readonly writes: readonly FileWrite[];
  readonly deletes: readonly string[];
  /** Unique chunks to download. */
  readonly fetch: readonly ChunkRef[];
  readonly ranges: readonly PackRange[];
  /** Bytes the ranges cover on the wire (including bounded over-read). */
  readonly downloadBytes: number;
  readonly writeBytes: number;
}

/**
 * Pure planner: what to keep, write, delete and download to turn `local` into `target`.
 * Invariants (tested by property): every chunk of every written file has a source; no chunk that is
 * available locally or in the store is fetched; untracked files are never deleted.
 */
export function plan(
  target: Manifest,
  local: readonly LocalFile[],
  storedChunks: ReadonlySet<string>,
  coalesceOptions: CoalesceOptions = DEFAULT_COALESCE,
): Plan {
  const localByPath = new Map(local.map((f) => [f.path, f]));
  const localChunks = new Map<string, { path: string; offset: number }>();
  for (const file of local) {
    let offset = 0;
    for (const [hash, size] of file.chunks) {
      if (!localChunks.has(hash)) localChunks.set(hash, { path: file.path, offset });
      offset += size;
    }
  }

  const keep: string[] = [];
  const writes: FileWrite[] = [];
  const fetch = new Map<string, ChunkRef>();
  const targetPaths = new Set<string>();
  for (const file of target.files) {
    targetPaths.add(file.path);
    const have = localByPath.get(file.path);
    if (
      have &&
      have.sha256 === file.sha256 &&
      have.size === file.size &&
      have.executable === file.executable
    ) {
      keep.push(file.path);
      continue;
    }
    const sources = file.chunks.map((chunk): ChunkSource => {
      const at = localChunks.get(chunk.hash);
      if (at) return { kind: "local", path: at.path, offset: at.offset };
      if (!storedChunks.has(chunk.hash) && !fetch.has(chunk.hash)) fetch.set(chunk.hash, chunk);
      return { kind: "store" };
    });
    writes.push({ file, sources });
  }
  const deletes = local.filter((f) => f.tracked && !targetPaths.has(f.path)).map((f) => f.path);
  const ranges = coalesce([...fetch.values()], coalesceOptions);
  return {
    keep,
    writes,
    deletes,
    fetch: [...fetch.values()],
    ranges,
    downloadBytes: ranges.reduce((sum, r) => sum + (r.end - r.start), 0),
    writeBytes: writes.reduce((sum, w) => sum + w.file.size, 0),
  };
}
