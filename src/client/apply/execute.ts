import { FerryError } from "../../core/errors.js";
import type { Manifest } from "../../core/manifest.js";
import type { FileWrite, Plan } from "../../core/planner.js";
import type { FileStat } from "../../ports/fs.js";
import type { CoalesceOptions } from "../../core/ranges.js";
import type { Context } from "../context.js";
import type { RangeMode } from "../events.js";
import type { InstallState, StatCacheEntry } from "../install/state.js";
import { saveStats } from "../install/stat-cache.js";
import { cacheEntry, type LocalIndex } from "../plan/local-index.js";
import type { CarriedStats, ObjectSet } from "../plan/prepare.js";
import type { RemoteRepository } from "../remote/remote.js";
import { type AssembledFrom, assembleFile } from "./assemble.js";
import { DirectWrites, noteSalvageFailure } from "./direct-writes.js";
import { cleanup } from "./cleanup.js";
import { type Displacement, displacementDir, trackedPaths, untrackedAt } from "./displaced.js";
import { reportDisplaced } from "./displaced-report.js";
import { checkDiskSpace } from "./disk-space.js";
import { ChunkFetcher } from "./fetcher.js";
import { applyJournal, type Journal, preflightCommit, writeJournal } from "./journal.js";
import { writePending } from "./pending.js";
import { pool, Slots } from "./pool.js";
import { preparePrevious } from "./previous.js";

/** Files assembled at once after the download (their fsyncs overlap). */
const ASSEMBLE_CONCURRENCY = 16;
/** Of those, files rebuilt from deltas (each holds its delta object and up to 64 MiB of source). */
const DELTA_CONCURRENCY = 2;

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
  // Staging is never read before it is complete: what an interrupted run left there is discarded.
  await ctx.fs.removeTree(ctx.layout.stagedFiles);
  await ctx.fs.mkdirp(ctx.layout.stagedFiles);
  await ctx.fs.mkdirp(ctx.layout.stagedChunks);
  const files: Record<string, StatCacheEntry> = {};
  const carried = input.carry?.state;
  if (input.carry && carried && !carried.statCache) {
    for (const path in carried.files) if (!input.carry.except.has(path)) files[path] = carried.files[path]!;
  }
  let bytesReused = 0;
  const deltaCounts: DeltaCounts = { delta: 0, "delta-fallback": 0, chunks: 0 };
  let assembled = 0;
  const record = (write: FileWrite, result: { reusedBytes: number; stat: FileStat }, from: AssembledFrom) => {
    bytesReused += result.reusedBytes;
    deltaCounts[from]++;
    files[write.file.path] = cacheEntry(result.stat);
    ctx.emit({ type: "assemble", path: write.file.path, done: ++assembled, total: plan.writes.length });
  };
  // Chunks go straight into their staged files as they arrive (direct-writes.ts).
  const direct = new DirectWrites(
    { fs: ctx.fs, layout: ctx.layout, crypto: ctx.crypto, onDone: (w, r) => record(w, r, "chunks") },
    plan.writes,
    plan.fetch,
  );
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
    direct,
  });
  let journal: Journal;
  let displaced: Displacement | undefined;
  let newState: InstallState;
  let moves: [string, string, boolean][];
  try {
    await fetcher.fetch(plan.ranges);
    await direct.finishDownload();
    ctx.emit({ type: "verify", files: plan.writes.length });

    moves = plan.writes.map((w, i): [string, string, boolean] => [String(i), w.file.path, w.file.executable]);
    // The rest is assembled in parallel: each file ends with an fsync, and those waits overlap. Deltas
    // hold their object and source in memory, so fewer of them run at once.
    const deltaSlots = new Slots(DELTA_CONCURRENCY);
    await pool([...plan.writes.entries()], ASSEMBLE_CONCURRENCY, async ([i, write]) => {
      if (direct.result(i)) return;
      if (ctx.signal?.aborted) {
        throw new FerryError(
          "E_ABORTED",
          "The update was cancelled before the commit; the install is unchanged.",
        );
      }
      const completed = await direct.complete(i);
      if (completed) return;
      const assemble = () =>
        assembleFile(
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
      const result = await (write.delta ? deltaSlots.run(assemble) : assemble());
      record(write, result, result.from);
    });
    for (const path of plan.keep) files[path] = cacheEntry(local.stats.get(path)!);

    await ctx.fs.mkdirp(ctx.layout.manifests);
    await ctx.fs.writeFileAtomic(ctx.layout.manifest(input.state.manifest.hash), input.manifestBytes);
    // A large install's stat cache goes to its own file (stat-cache.ts), written before the journal names it.
    const statCache = await saveStats(ctx, files, input.carry?.state.statCache ? input.carry : undefined);
    newState = statCache ? { ...input.state, files: {}, statCache } : { ...input.state, files };
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
    displaced =
      untracked.length > 0
        ? { dir: displacementDir(ctx.clock.now(), ctx.host), paths: untracked }
        : undefined;
    if (input.applyOn === "next-start") {
      const base = input.previous?.manifest.hash ?? null;
      await writePending(ctx, { base, moves, deletes: plan.deletes, state: newState });
      return { bytesReused, fetcher, deltaCounts, pending: true };
    }
    journal = {
      moves,
      deletes: plan.deletes,
      state: newState,
      ...(displaced ? { displaced } : {}),
      ...(input.previous
        ? {
            previous: await preparePrevious(ctx, input.previous, newState.manifest.hash, moves, plan.deletes),
          }
        : {}),
    };
  } catch (error) {
    // Until the journal exists the run can fail and be run again: what arrived is kept for that run
    // as staged chunks (the staged files are discarded then).
    await direct
      .salvage(!renameRefused(error))
      .catch((salvageError: unknown) => noteSalvageFailure(error, salvageError));
    throw error;
  }
  // The point of no return: once the journal is durable, recovery rolls forward to the new release.
  await writeJournal(ctx.fs, ctx.layout, journal);
  ctx.emit({ type: "commit", moves: moves.length, deletes: plan.deletes.length });
  await applyJournal(ctx.fs, ctx.layout, journal);
  if (displaced) await reportDisplaced(ctx, displaced, newState);
  await cleanup(ctx, input.state.manifest.hash, input.objects, newState);
  return { bytesReused, fetcher, deltaCounts, pending: false };
}

/** The run stopped because the file system refused a rename for good (a scanner holding the folder). */
function renameRefused(error: unknown): boolean {
  return error instanceof FerryError && error.code === "E_IO" && error.data.operation === "rename";
}
