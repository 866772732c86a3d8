import { FerryError } from "../../core/errors.js";
import type { Manifest } from "../../core/manifest.js";
import type { Plan } from "../../core/planner.js";
import type { CoalesceOptions } from "../../core/ranges.js";
import type { Context } from "../context.js";
import type { RangeMode } from "../events.js";
import type { InstallState, StatCacheEntry } from "../install/state.js";
import { saveStats } from "../install/stat-cache.js";
import { cacheEntry, type LocalIndex } from "../plan/local-index.js";
import type { CarriedStats, ObjectSet } from "../plan/prepare.js";
import type { RemoteRepository } from "../remote/remote.js";
import { assembleFile } from "./assemble.js";
import { cleanup } from "./cleanup.js";
import { displacementDir, trackedPaths, untrackedAt } from "./displaced.js";
import { reportDisplaced } from "./displaced-report.js";
import { checkDiskSpace } from "./disk-space.js";
import { ChunkFetcher } from "./fetcher.js";
import { applyJournal, type Journal, preflightCommit, writeJournal } from "./journal.js";
import { writePending } from "./pending.js";
import { pool } from "./pool.js";
import { preparePrevious } from "./previous.js";

const ASSEMBLE_CONCURRENCY = 4;

/** How downloads run: the part of an operation's options the executor reads. */
export interface ExecuteOptions {
  readonly concurrency?: number;
  /** Start in this range mode (default "multi"); Ferry degrades further by itself when needed. */
  readonly rangeMode?: RangeMode;
  /** Attempts per download request before the update fails (default 5). */
  readonly maxAttempts?: number;
}

/** How each written file was built: from a delta, from chunks after a delta's source changed, or from chunks. */
type DeltaCounts = Record<"delta" | "delta-fallback" | "chunks", number>;

export interface ExecuteInput {
  readonly repo: RemoteRepository;
  readonly manifest: Manifest;
  readonly manifestBytes: Uint8Array;
  /** The tree objects the release references: kept in `.ferry/objects/` after the commit, others removed. */
  readonly objects: ObjectSet;
  readonly plan: Plan;
  readonly local: LocalIndex;
  /** Stat-cache entries of files outside the plan, kept in the new state (an incremental update). */
  readonly carry?: CarriedStats;
  /** The install state after the commit, except the stat cache (filled in from the staged files). */
  readonly state: Omit<InstallState, "files">;
  /** The coalescing the plan was made with (default DEFAULT_COALESCE). */
  readonly coalesce?: CoalesceOptions;
  /** The installed state being replaced: its replaced and deleted files are kept for rollback. */
  readonly previous?: InstallState;
  /** "next-start": stop before the journal and leave a pending commit for the next open. */
  readonly applyOn?: "now" | "next-start";
}

/**
 * Performs a plan: download the missing chunks (verified), assemble and verify every written file in
 * staging, then one journaled commit. Shared by update and repair. Before the journal is written the
 * install is unchanged; after it, recovery rolls forward.
 */
export async function executePlan(
  ctx: Context,
  options: ExecuteOptions,
  input: ExecuteInput,
): Promise<{ bytesReused: number; fetcher: ChunkFetcher; deltaCounts: DeltaCounts; pending: boolean }> {
  const { plan, manifest, local, repo } = input;
  ctx.emit({
    type: "plan",
    version: manifest.version,
    filesToWrite: plan.writes.length,
    filesToKeep: plan.keep.length,
    filesToDelete: plan.deletes.length,
    chunksToFetch: plan.fetch.length,
    deltasToApply: plan.writes.filter((w) => w.delta).length,
    downloadBytes: plan.downloadBytes,
    writeBytes: plan.writeBytes,
  });

  await checkDiskSpace(ctx, plan, manifest, input.manifestBytes.length, input.state.pointer, input.previous);
  const fetcher = new ChunkFetcher({
    brotli: ctx.brotli,
    crypto: ctx.crypto,
    transport: ctx.transport,
    clock: ctx.clock,
    fs: ctx.fs,
    host: ctx.host,
    layout: ctx.layout,
    repo,
    manifest,
    emit: ctx.emit,
    signal: ctx.signal,
    concurrency: options.concurrency,
    initialMode: options.rangeMode,
    maxAttempts: options.maxAttempts,
    coalesce: input.coalesce,
  });
  await ctx.fs.mkdirp(ctx.layout.stagedChunks);
  await fetcher.fetch(plan.ranges);
  ctx.emit({ type: "verify", files: plan.writes.length });

  await ctx.fs.removeTree(ctx.layout.stagedFiles);
  await ctx.fs.mkdirp(ctx.layout.stagedFiles);
  const files: Record<string, StatCacheEntry> = {};
  const carried = input.carry?.state;
  if (input.carry && carried && !carried.statCache) {
    for (const path in carried.files) if (!input.carry.except.has(path)) files[path] = carried.files[path]!;
  }
  let bytesReused = 0;
  const deltaCounts: DeltaCounts = { delta: 0, "delta-fallback": 0, chunks: 0 };
  // Files are assembled in parallel: each ends with an fsync, and those waits overlap.
  const moves = plan.writes.map((w, i): [string, string, boolean] => [
    String(i),
    w.file.path,
    w.file.executable,
  ]);
  let assembled = 0;
  await pool([...plan.writes.entries()], ASSEMBLE_CONCURRENCY, async ([i, write]) => {
    if (ctx.signal?.aborted) {
      throw new FerryError(
        "E_ABORTED",
        "The update was cancelled before the commit; the install is unchanged.",
      );
    }
    const result = await assembleFile(
      {
        fs: ctx.fs,
        layout: ctx.layout,
        refetch: (chunk) => fetcher.fetchOne(chunk),
        brotli: ctx.brotli,
        crypto: ctx.crypto,
      },
      write,
      String(i),
    );
    bytesReused += result.reusedBytes;
    deltaCounts[result.from]++;
    files[write.file.path] = cacheEntry(result.stat);
    ctx.emit({ type: "assemble", path: write.file.path, done: ++assembled, total: plan.writes.length });
  });
  for (const path of plan.keep) files[path] = cacheEntry(local.stats.get(path)!);

  await ctx.fs.mkdirp(ctx.layout.manifests);
  await ctx.fs.writeFileAtomic(ctx.layout.manifest(input.state.manifest.hash), input.manifestBytes);
  // A large install's stat cache goes to its own file (stat-cache.ts), written before the journal names it.
  const statCache = await saveStats(ctx, files, input.carry?.state.statCache ? input.carry : undefined);
  const newState: InstallState = statCache
    ? { ...input.state, files: {}, statCache }
    : { ...input.state, files };
  if (ctx.signal?.aborted)
    throw new FerryError(
      "E_ABORTED",
      "The update was cancelled before the commit; the install is unchanged.",
    );
  await preflightCommit(ctx.fs, ctx.layout, moves, plan.deletes, newState);
  await ctx.fs.fsyncDir(ctx.layout.stagedFiles);
  // Untracked files where the new release writes: moved to .ferry/displaced/, never destroyed.
  const untracked = await untrackedAt(
    ctx.fs,
    ctx.layout,
    moves.map(([, path]) => path),
    trackedPaths(local),
  );
  const displaced =
    untracked.length > 0 ? { dir: displacementDir(ctx.clock.now(), ctx.host), paths: untracked } : undefined;
  if (input.applyOn === "next-start") {
    const base = input.previous?.manifest.hash ?? null;
    await writePending(ctx, { base, moves, deletes: plan.deletes, state: newState });
    return { bytesReused, fetcher, deltaCounts, pending: true };
  }
  const journal: Journal = {
    moves,
    deletes: plan.deletes,
    state: newState,
    ...(displaced ? { displaced } : {}),
    ...(input.previous
      ? { previous: await preparePrevious(ctx, input.previous, newState.manifest.hash, moves, plan.deletes) }
      : {}),
  };
  // The point of no return: once the journal is durable, recovery rolls forward to the new release.
  await writeJournal(ctx.fs, ctx.layout, journal);
  ctx.emit({ type: "commit", moves: moves.length, deletes: plan.deletes.length });
  await applyJournal(ctx.fs, ctx.layout, journal);
  if (displaced) await reportDisplaced(ctx, displaced, newState);
  await cleanup(ctx, input.state.manifest.hash, input.objects, newState);
  return { bytesReused, fetcher, deltaCounts, pending: false };
}
