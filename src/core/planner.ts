import type { ChunkRef, DeltaRef, FileEntry, Manifest } from "./manifest.js";
import { type CoalesceOptions, coalesce, DEFAULT_COALESCE, type PackRange } from "./ranges.js";

/** A file as it is known to be on disk (hash trusted: verified or stat-cache matched). */
export interface LocalFile {
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
  readonly executable: boolean;
  /** A symbolic link's target (then size 0, no chunks, sha256 of the target). */
  readonly link?: string;
  /** Chunks in file order, as [hash, size]; offsets follow from the sizes. */
  readonly chunks: readonly (readonly [hash: string, size: number])[];
  /** True when the installed release tracks this file (only tracked files may be deleted). */
  readonly tracked: boolean;
}

/** Where the bytes of one chunk of a new file come from. */
export type ChunkSource =
  { readonly kind: "local"; readonly path: string; readonly offset: number } | { readonly kind: "store" }; // staging/chunks: already there (resume) or fetched by this plan

/** A file rebuilt from a binary delta (docs/FORMAT.md §9) applied to a local file. */
export interface DeltaSource {
  readonly ref: DeltaRef;
  /** The local file whose content is `ref.from` (the client verifies it again before use). */
  readonly sourcePath: string;
}

export interface FileWrite {
  readonly file: FileEntry;
  /**
   * Aligned with file.chunks. For a delta write these are the fallback if the delta's source changed
   * after planning: their "store" chunks are then not in the plan's fetch and are downloaded one by one.
   */
  readonly sources: readonly ChunkSource[];
  readonly delta?: DeltaSource;
}

export interface Plan {
  readonly keep: readonly string[];
  readonly writes: readonly FileWrite[];
  readonly deletes: readonly string[];
  /** Unique objects to download: chunks, and delta objects as raw chunks (see deltaChunk). */
  readonly fetch: readonly ChunkRef[];
  readonly ranges: readonly PackRange[];
  /** Bytes the ranges cover on the wire (including bounded over-read). */
  readonly downloadBytes: number;
  readonly writeBytes: number;
}

/** A delta object as the fetcher sees it: stored raw, verified by its SHA-256, staged under its hash. */
export function deltaChunk(ref: DeltaRef): ChunkRef {
  return {
    hash: ref.hash,
    size: ref.size,
    pack: ref.pack,
    offset: ref.offset,
    length: ref.length,
    codec: "raw",
  };
}

/**
 * Pure planner: what to keep, write, delete and download to turn `local` into `target`.
 * Invariants (tested by property): every chunk of every chunk-sourced write has a source; every delta
 * write's delta object is stored or fetched and its source is a local file with the delta's `from`
 * content; no chunk that is available locally or in the store is fetched; untracked files are never
 * deleted. A delta is chosen only when it saves bytes: it must be cheaper than the missing chunks that
 * no other write needs, so the payload downloaded never exceeds the chunk-only plan's.
 */
export function plan(
  target: Manifest,
  local: readonly LocalFile[],
  storedChunks: ReadonlySet<string>,
  coalesceOptions: CoalesceOptions = DEFAULT_COALESCE,
): Plan {
  const localByPath = new Map(local.map((f) => [f.path, f]));
  const localChunks = new Map<string, { path: string; offset: number }>();
  const localByContent = new Map<string, string>();
  for (const file of local) {
    let offset = 0;
    for (const [hash, size] of file.chunks) {
      if (!localChunks.has(hash)) localChunks.set(hash, { path: file.path, offset });
      offset += size;
    }
    const key = `${file.sha256}:${file.size}`;
    if (!localByContent.has(key)) localByContent.set(key, file.path);
  }

  const keep: string[] = [];
  const pending: { file: FileEntry; sources: ChunkSource[]; missing: ChunkRef[]; delta?: DeltaSource }[] = [];
  // How many chunk-sourced writes need each missing chunk.
  const users = new Map<string, number>();
  const targetPaths = new Set<string>();
  for (const file of target.files) {
    targetPaths.add(file.path);
    const have = localByPath.get(file.path);
    if (
      have &&
      have.sha256 === file.sha256 &&
      have.size === file.size &&
      have.executable === file.executable &&
      have.link === file.link
    ) {
      keep.push(file.path);
      continue;
    }
    const missing = new Map<string, ChunkRef>();
    const sources = file.chunks.map((chunk): ChunkSource => {
      const at = localChunks.get(chunk.hash);
      if (at) return { kind: "local", path: at.path, offset: at.offset };
      if (!storedChunks.has(chunk.hash)) missing.set(chunk.hash, chunk);
      return { kind: "store" };
    });
    for (const hash of missing.keys()) users.set(hash, (users.get(hash) ?? 0) + 1);
    pending.push({ file, sources, missing: [...missing.values()] });
  }

  // Greedy, in file order: a write switches to a delta when the delta costs less than the chunks only
  // it needs. A delta object already stored or already chosen costs nothing more.
  const chosenDeltas = new Set<string>();
  for (const w of pending) {
    if (!w.file.deltas || w.missing.length === 0) continue;
    // A chunk in a solid block costs the whole block (its neighbours may be delta-built too): full length.
    const saved = w.missing.reduce((sum, c) => sum + (users.get(c.hash) === 1 ? c.length : 0), 0);
    let best: DeltaSource | undefined;
    let bestCost = saved;
    for (const ref of w.file.deltas) {
      const sourcePath = localByContent.get(`${ref.from}:${ref.fromSize}`);
      if (sourcePath === undefined) continue;
      const cost = storedChunks.has(ref.hash) || chosenDeltas.has(ref.hash) ? 0 : ref.length;
      if (cost < bestCost) {
        best = { ref, sourcePath };
        bestCost = cost;
      }
    }
    if (!best) continue;
    w.delta = best;
    chosenDeltas.add(best.ref.hash);
    for (const c of w.missing) users.set(c.hash, users.get(c.hash)! - 1);
  }

  const writes: FileWrite[] = [];
  const fetch = new Map<string, ChunkRef>();
  for (const w of pending) {
    if (w.delta) {
      writes.push({ file: w.file, sources: w.sources, delta: w.delta });
      const ref = w.delta.ref;
      if (!storedChunks.has(ref.hash) && !fetch.has(ref.hash)) fetch.set(ref.hash, deltaChunk(ref));
    } else {
      writes.push({ file: w.file, sources: w.sources });
      for (const c of w.missing) if (!fetch.has(c.hash)) fetch.set(c.hash, c);
    }
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
