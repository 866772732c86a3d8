import { resolve } from "node:path";
import { canonicalJson } from "../core/canonical-json.js";
import { FerryError } from "../core/errors.js";
import type { Manifest } from "../core/manifest.js";
import { plan as makePlan, type Plan } from "../core/planner.js";
import type { CoalesceOptions } from "../core/ranges.js";
import { CHANNEL_PATTERN, checkFreshness, type SignedPointer } from "../core/pointer.js";
import type { TrustedRoot } from "../core/root.js";
import { assembleFile } from "./assemble.js";
import { checkDiskSpace } from "./disk-space.js";
import { type ClientDeps, type Context, makeContext, withInstall } from "./context.js";
import type { RangeMode } from "./events.js";
import { ChunkFetcher } from "./fetcher.js";
import { applyJournal, preflightCommit, writeJournal } from "./journal.js";
import { buildLocalIndex, cacheEntry, type LocalIndex } from "./local-index.js";
import { pool } from "./pool.js";
import { decodeManifest, RemoteRepository } from "./remote.js";
import { encodeState, type InstallState, readState, type StatCacheEntry } from "./state.js";
import { anchorKeyids, fetchVerifiedPointer, toAnchor, type TrustOption } from "./trust.js";
import { carrySelection, restrict } from "../core/selection.js";
import { contentFields, installedSelection, materialized, withContent } from "./content.js";
import {
  checkRuntimeName,
  runtimeError,
  runtimeMismatch,
  type SetAsideRecord,
  setAsideStaleRelease,
} from "./runtime.js";

export interface UpdateOptions extends ClientDeps {
  readonly repoUrl: string;
  readonly installDir: string;
  /** Root keys or a root file (see TrustAnchor); an installed release's stored root supersedes keys. */
  readonly trust: TrustOption;
  /** Accept a pointer with a lower serial or version than installed. Only ever set by the caller. */
  readonly allowDowngrade?: boolean;
  readonly channel?: string;
  readonly concurrency?: number;
  /** Start in this range mode (default "multi"); Ferry degrades further by itself when needed. */
  readonly rangeMode?: RangeMode;
  /** Attempts per download request before the update fails (default 5). */
  readonly maxAttempts?: number;
  /** Install exactly these packages (docs/PACKAGES.md); default: keep the installed set, or all non-optional. */
  readonly packages?: readonly string[];
  /** This client's runtime: only releases for it are installed; a stale release is set aside. */
  readonly runtime?: string;
  /** Read-only base directory: files identical there are not copied into the install (kept in the state). */
  readonly base?: string;
}

export interface UpdateSummary {
  readonly upToDate: boolean;
  readonly version: string;
  readonly previousVersion: string | null;
  readonly serial: number;
  readonly bytesDownloaded: number;
  readonly metadataBytes: number;
  readonly requests: number;
  readonly filesWritten: number;
  readonly filesDeleted: number;
  readonly filesKept: number;
  readonly chunksFetched: number;
  /** Files rebuilt from a binary delta, and delta writes that fell back to chunks (source changed). */
  readonly deltasApplied: number;
  readonly deltaFallbacks: number;
  readonly bytesReused: number;
  readonly bytesHashed: number;
  readonly rangeMode: RangeMode;
  readonly durationMs: number;
  /** Installed packages after the update. */
  readonly packages?: readonly string[];
  /** Installed packages the new release no longer has: removed with their files. */
  readonly droppedPackages?: readonly string[];
  /** The channel's release needs another runtime; the installed release (for this one) stays. */
  readonly heldForRuntime?: { readonly version: string; readonly runtime: string };
  /** A release for another runtime that this run set aside (app upgrade). */
  readonly setAside?: SetAsideRecord;
}

const ASSEMBLE_CONCURRENCY = 4;

interface Prepared {
  readonly pointer: SignedPointer;
  readonly root: TrustedRoot;
  readonly trustedKeys: readonly string[];
  readonly state: InstallState | undefined;
  readonly repo: RemoteRepository;
  readonly manifestBytes: Uint8Array;
  readonly manifest: Manifest;
  readonly local: LocalIndex;
  readonly plan: Plan;
  /** The state's packages/paths/base/runtime after this update. */
  readonly content: Pick<InstallState, "packages" | "paths" | "base" | "runtime">;
  readonly droppedPackages: readonly string[];
  readonly setAside: SetAsideRecord | undefined;
}

/** The channel's release is for another runtime, and a release for the client's runtime is installed. */
interface Held {
  readonly held: { readonly version: string; readonly runtime: string };
  readonly state: InstallState;
  readonly repo: RemoteRepository;
  readonly setAside: SetAsideRecord | undefined;
}

/** Steps shared by check and update: pointer (verified, fresh), manifest (pinned), local index, plan. */
async function prepare(
  ctx: Context,
  options: UpdateOptions,
  started: Date,
  changes: "read-only" | "update" = "update",
): Promise<Prepared | Held> {
  const channel = options.channel ?? "stable";
  if (!CHANNEL_PATTERN.test(channel)) {
    throw new FerryError(
      "E_USAGE",
      `Invalid channel name ${JSON.stringify(channel)}: lowercase letters, digits, '.', '_' or '-'.`,
      { channel },
    );
  }
  checkRuntimeName(options.runtime);
  const repo = openRepository(ctx, options);
  // check() changes nothing: it plans against the installed release even when the gate would set it aside.
  const setAside = changes === "update" ? await setAsideStaleRelease(ctx, options.runtime) : undefined;
  const state = await readState(ctx.fs, ctx.layout);
  if (state && state.channel !== channel) {
    throw new FerryError(
      "E_USAGE",
      `${ctx.layout.root} follows channel '${state.channel}', not '${channel}'. Pass --channel ${state.channel}.`,
      { channel, installed: state.channel },
    );
  }
  const anchor = toAnchor(options.trust);
  const { pointer, root, releaseKeysRotated } = await fetchVerifiedPointer(
    repo,
    channel,
    anchor,
    state,
    started,
    ctx.signal,
  );
  const trustedKeys = state?.trustedKeys ?? anchorKeyids(anchor, root);
  checkFreshness(
    pointer.body,
    started,
    state && !releaseKeysRotated
      ? { serial: state.serial, manifestHash: state.manifest.hash, version: state.version }
      : undefined,
    repo.url(`channels/${channel}.json`),
    options.allowDowngrade === true,
  );
  ctx.emit({
    type: "pointer",
    version: pointer.body.version,
    serial: pointer.body.serial,
    installedVersion: state?.version ?? null,
  });
  if (runtimeMismatch(pointer.body, options.runtime)) {
    if (!state) throw runtimeError(pointer.body, options.runtime!);
    return { held: { version: pointer.body.version, runtime: pointer.body.runtime! }, state, repo, setAside };
  }
  const ref = pointer.body.manifest;
  const installed = state ? await loadInstalledManifestOrRefetch(ctx, state, repo) : undefined;
  // Same release as installed: no metadata download, but the plan still restores damaged or missing files.
  const sameRelease = state !== undefined && installed !== undefined && state.manifest.hash === ref.hash;
  const manifestBytes = sameRelease
    ? await ctx.fs.readFile(ctx.layout.manifest(ref.hash))
    : await repo.manifestBytes(ref, ctx.signal);
  const manifest = sameRelease
    ? installed
    : decodeManifest(manifestBytes, ref, repo.url(`manifests/${ref.hash}`));
  if (manifest.version !== pointer.body.version) {
    throw new FerryError(
      "E_SIGNATURE",
      `The signed pointer says version ${pointer.body.version} but its manifest says ${manifest.version}.`,
      { version: manifest.version },
    );
  }
  if (manifest.runtime !== pointer.body.runtime) {
    throw new FerryError(
      "E_SIGNATURE",
      `The signed pointer says runtime ${pointer.body.runtime ?? "(none)"} but its manifest says ${manifest.runtime ?? "(none)"}.`,
      { version: manifest.version },
    );
  }
  // Packages and the base overlay (docs/PACKAGES.md): the plan targets only the files the install holds.
  const current = state && installed ? installedSelection(state, installed) : undefined;
  const carried = carrySelection(installed, current, manifest, options.packages);
  const base = options.base === undefined ? state?.base : resolve(options.base);
  const target = await materialized(ctx.fs, manifest, carried.selection, base);
  const tracked = installed && current ? restrict(installed, current) : undefined;
  const local = await buildLocalIndex(ctx.fs, ctx.layout, tracked, state?.files ?? {}, target);
  const stored = new Set(
    (await ctx.fs.readdir(ctx.layout.stagedChunks)).filter((n) => /^[0-9a-f]{64}$/.test(n)),
  );
  const plan = makePlan(target, local.files, stored);
  const content = contentFields(carried.selection, base, pointer.body.runtime);
  const droppedPackages = carried.droppedPackages;
  return {
    ...{ pointer, root, trustedKeys, state, repo, manifestBytes, manifest, local, plan },
    ...{ content, droppedPackages, setAside },
  };
}

/** The repository at `repoUrl`, retrying transient failures with the context's clock. */
export function openRepository(
  ctx: Context,
  options: Pick<UpdateOptions, "repoUrl" | "maxAttempts">,
): RemoteRepository {
  return new RemoteRepository(options.repoUrl, ctx.transport, {
    maxAttempts: options.maxAttempts ?? 5,
    sleep: (ms, signal) => ctx.clock.sleep(ms, signal),
    signal: ctx.signal,
    emit: ctx.emit,
  });
}

/** The installed manifest; if the local copy is lost or damaged, the same (pinned) bytes from the repository. */
export async function loadInstalledManifestOrRefetch(
  ctx: Context,
  state: InstallState,
  repo: RemoteRepository,
): Promise<Manifest> {
  try {
    return await loadInstalledManifest(ctx, state);
  } catch (localError) {
    const bytes = await repo.manifestBytes(state.manifest, ctx.signal).catch(() => {
      throw localError;
    });
    await ctx.fs.mkdirp(ctx.layout.manifests);
    await ctx.fs.writeFileAtomic(ctx.layout.manifest(state.manifest.hash), bytes);
    return decodeManifest(bytes, state.manifest, repo.url(`manifests/${state.manifest.hash}`));
  }
}

export async function loadInstalledManifest(ctx: Context, state: InstallState): Promise<Manifest> {
  const path = ctx.layout.manifest(state.manifest.hash);
  return decodeManifest(await ctx.fs.readFile(path), state.manifest, path);
}

export interface CheckResult {
  readonly updateAvailable: boolean;
  readonly installedVersion: string | null;
  readonly version: string;
  readonly serial: number;
  readonly downloadBytes: number;
  readonly filesToWrite: number;
  readonly filesToDelete: number;
  readonly metadataBytes: number;
  /** The channel's release needs another runtime; the installed release (for this one) stays. */
  readonly heldForRuntime?: { readonly version: string; readonly runtime: string };
}

/** Is an update available, and how many bytes would it download? Changes nothing but the lock. */
export async function check(options: UpdateOptions): Promise<CheckResult> {
  const ctx = makeContext(options.installDir, options);
  const started = ctx.clock.now();
  return withInstall(ctx, options, async () => {
    const p = await prepare(ctx, options, started, "read-only");
    if ("held" in p) {
      return {
        updateAvailable: false,
        installedVersion: p.state.version,
        version: p.state.version,
        serial: p.state.serial,
        downloadBytes: 0,
        filesToWrite: 0,
        filesToDelete: 0,
        metadataBytes: p.repo.metadataBytes,
        heldForRuntime: p.held,
      };
    }
    return {
      updateAvailable: !isNoop(p),
      installedVersion: p.state?.version ?? null,
      version: p.pointer.body.version,
      serial: p.pointer.body.serial,
      downloadBytes: p.plan.downloadBytes,
      filesToWrite: p.plan.writes.length,
      filesToDelete: p.plan.deletes.length,
      metadataBytes: p.repo.metadataBytes,
    };
  });
}

/**
 * Installs or updates to the channel's current release: verify, plan, download only what is missing,
 * stage and verify everything, then one journaled commit. On any failure before the commit the install
 * is unchanged (verified downloads stay in staging for the next run).
 */
export async function update(options: UpdateOptions): Promise<UpdateSummary> {
  const ctx = makeContext(options.installDir, options);
  const started = ctx.clock.now();
  return withInstall(ctx, options, async () => {
    const p = await prepare(ctx, options, started);
    if ("held" in p) {
      const { state, held, setAside } = p;
      return summary(ctx, started, p.repo, {
        version: state.version,
        previousVersion: state.version,
        serial: state.serial,
        upToDate: true,
        heldForRuntime: held,
        ...(setAside ? { setAside } : {}),
      });
    }
    const { pointer, state, repo } = p;
    const extra = {
      packages: p.content.packages ?? [],
      droppedPackages: p.droppedPackages,
      ...(p.setAside ? { setAside: p.setAside } : {}),
    };
    const base = {
      version: pointer.body.version,
      previousVersion: state?.version ?? null,
      serial: pointer.body.serial,
      ...extra,
    };
    if (isNoop(p)) {
      // Remember a newer serial (re-signed pointer: rollback protection), a newer root (rotated keys),
      // and refreshed stat-cache entries (e.g. after the install was copied), so the next run does not re-hash.
      const files = Object.fromEntries(
        p.plan.keep.map((path) => [path, cacheEntry(p.local.stats.get(path)!)]),
      );
      if (
        state &&
        (pointer.body.serial !== state.serial ||
          canonicalJson(p.root.document) !== canonicalJson(state.root) ||
          canonicalJson(files) !== canonicalJson(state.files) ||
          canonicalJson(withContent(state, p.content)) !== canonicalJson(state))
      ) {
        await ctx.fs.writeFileAtomic(
          ctx.layout.state,
          encodeState({
            ...withContent(state, p.content),
            serial: pointer.body.serial,
            pointer: pointer.document,
            root: p.root.document,
            files,
          }),
        );
      }
      await cleanup(ctx, pointer.body.manifest.hash); // staging left by a run that failed after its commit
      return summary(ctx, started, repo, {
        ...base,
        upToDate: true,
        filesKept: p.plan.keep.length,
        bytesHashed: p.local.hashedBytes,
      });
    }
    const { bytesReused, fetcher, deltaCounts } = await executePlan(ctx, options, {
      repo,
      manifest: p.manifest,
      manifestBytes: p.manifestBytes,
      plan: p.plan,
      local: p.local,
      state: {
        channel: pointer.body.channel,
        repo: repo.base,
        version: p.manifest.version,
        serial: pointer.body.serial,
        manifest: pointer.body.manifest,
        pointer: pointer.document,
        root: p.root.document,
        trustedKeys: p.trustedKeys,
        ...p.content,
      },
    });
    const { plan, local } = p;
    return summary(ctx, started, repo, {
      ...base,
      upToDate: false,
      filesWritten: plan.writes.length,
      filesDeleted: plan.deletes.length,
      filesKept: plan.keep.length,
      bytesReused,
      bytesHashed: local.hashedBytes,
      deltasApplied: deltaCounts.delta,
      deltaFallbacks: deltaCounts["delta-fallback"],
      fetcher,
    });
  });
}

/** How each written file was built: from a delta, from chunks after a delta's source changed, or from chunks. */
type DeltaCounts = Record<"delta" | "delta-fallback" | "chunks", number>;

export interface ExecuteInput {
  readonly repo: RemoteRepository;
  readonly manifest: Manifest;
  readonly manifestBytes: Uint8Array;
  readonly plan: Plan;
  readonly local: LocalIndex;
  /** The install state after the commit, except the stat cache (filled in from the staged files). */
  readonly state: Omit<InstallState, "files">;
  /** The coalescing the plan was made with (default DEFAULT_COALESCE). */
  readonly coalesce?: CoalesceOptions;
}

/**
 * Performs a plan: download the missing chunks (verified), assemble and verify every written file in
 * staging, then one journaled commit. Shared by update and repair. Before the journal is written the
 * install is unchanged; after it, recovery rolls forward.
 */
export async function executePlan(
  ctx: Context,
  options: Pick<UpdateOptions, "concurrency" | "rangeMode" | "maxAttempts">,
  input: ExecuteInput,
): Promise<{ bytesReused: number; fetcher: ChunkFetcher; deltaCounts: DeltaCounts }> {
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

  await checkDiskSpace(ctx, plan, manifest, input.manifestBytes.length, input.state.pointer);
  const fetcher = new ChunkFetcher({
    transport: ctx.transport,
    clock: ctx.clock,
    fs: ctx.fs,
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

  await ctx.fs.removeTree(ctx.layout.stagedFiles);
  await ctx.fs.mkdirp(ctx.layout.stagedFiles);
  const files: Record<string, StatCacheEntry> = {};
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
      { fs: ctx.fs, layout: ctx.layout, refetch: (chunk) => fetcher.fetchOne(chunk) },
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
  const newState: InstallState = { ...input.state, files };
  if (ctx.signal?.aborted)
    throw new FerryError(
      "E_ABORTED",
      "The update was cancelled before the commit; the install is unchanged.",
    );
  await preflightCommit(ctx.fs, ctx.layout, moves, plan.deletes);
  await ctx.fs.fsyncDir(ctx.layout.stagedFiles);
  // The point of no return: once the journal is durable, recovery rolls forward to the new release.
  await writeJournal(ctx.fs, ctx.layout, { moves, deletes: plan.deletes, state: newState });
  ctx.emit({ type: "commit", moves: moves.length, deletes: plan.deletes.length });
  await applyJournal(ctx.fs, ctx.layout, { moves, deletes: plan.deletes, state: newState });
  await cleanup(ctx, input.state.manifest.hash);
  return { bytesReused, fetcher, deltaCounts };
}

/** Nothing to write or delete, and the installed release is the channel's. */
function isNoop(p: Prepared): boolean {
  return (
    p.state !== undefined &&
    p.state.manifest.hash === p.pointer.body.manifest.hash &&
    p.plan.writes.length === 0 &&
    p.plan.deletes.length === 0
  );
}

async function cleanup(ctx: Context, keepManifest: string): Promise<void> {
  await ctx.fs.removeTree(ctx.layout.staging);
  for (const name of await ctx.fs.readdir(ctx.layout.manifests)) {
    if (name !== keepManifest) await ctx.fs.unlink(ctx.layout.manifest(name));
  }
}

type SummaryParts = Pick<UpdateSummary, "version" | "previousVersion" | "serial" | "upToDate"> &
  Partial<
    Pick<
      UpdateSummary,
      | "filesWritten"
      | "filesDeleted"
      | "filesKept"
      | "bytesReused"
      | "bytesHashed"
      | "deltasApplied"
      | "deltaFallbacks"
      | "packages"
      | "droppedPackages"
      | "heldForRuntime"
      | "setAside"
    >
  > & {
    readonly fetcher?: ChunkFetcher;
  };

function summary(ctx: Context, started: Date, repo: RemoteRepository, parts: SummaryParts): UpdateSummary {
  const { fetcher, ...rest } = parts;
  return {
    filesWritten: 0,
    filesDeleted: 0,
    filesKept: 0,
    bytesReused: 0,
    bytesHashed: 0,
    deltasApplied: 0,
    deltaFallbacks: 0,
    ...rest,
    bytesDownloaded: (fetcher?.bytesDownloaded ?? 0) + repo.metadataBytes,
    metadataBytes: repo.metadataBytes,
    requests: repo.requests,
    chunksFetched: fetcher?.chunksFetched ?? 0,
    rangeMode: fetcher?.mode ?? "multi",
    durationMs: ctx.clock.now().getTime() - started.getTime(),
  };
}
