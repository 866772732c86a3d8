import { resolve } from "node:path";
import { canonicalJson } from "../../core/canonical-json.js";
import { FerryError } from "../../core/errors.js";
import type { Manifest } from "../../core/manifest.js";
import type { MaterializedRelease } from "../../core/tree-read.js";
import { plan as makePlan, type Plan } from "../../core/planner.js";
import type { CoalesceOptions } from "../../core/ranges.js";
import { CHANNEL_PATTERN, type SignedPointer } from "../../core/pointer.js";
import type { TrustedRoot } from "../../core/root.js";
import { assembleFile } from "../apply/assemble.js";
import { displacementDir, trackedPaths, untrackedAt } from "../apply/displaced.js";
import { reportDisplaced } from "../apply/displaced-report.js";
import { checkDiskSpace } from "../apply/disk-space.js";
import {
  type ClientDeps,
  type Context,
  DEFAULT_CHECK_DEADLINE_MS,
  DEFAULT_UPDATE_DEADLINE_MS,
  makeContext,
  withInstall,
} from "../context.js";
import type { RangeMode } from "../events.js";
import { ChunkFetcher } from "../apply/fetcher.js";
import { applyJournal, type Journal, preflightCommit, writeJournal } from "../apply/journal.js";
import { haltToPrevious } from "./launch.js";
import { writePending } from "../apply/pending.js";
import { choosePointerRelease, type PolicyView, type RefusalHook, runRefusalHook } from "../plan/policy.js";
import { keptPreviousObjects, preparePrevious, readPrevious } from "../apply/previous.js";
import type { Selection } from "../../core/release-policy.js";
import { logUpdate } from "../install/update-log.js";
import { buildLocalIndex, cacheEntry, type LocalIndex } from "../plan/local-index.js";
import { forceRewrite } from "../apply/force.js";
import { prepareIncremental, type VerifyMode } from "../plan/incremental.js";
import { pool } from "../apply/pool.js";
import { loadRelease, pruneKeptObjects } from "../remote/release.js";
import { checkManifestBytes, RemoteRepository } from "../remote/remote.js";
import { releaseInfo } from "../../core/release-info.js";
import { encodeState, type InstallState, readStoredState, type StatCacheEntry } from "../install/state.js";
import { lookupStats, pruneStatFiles, saveStats, withStatFiles } from "../install/stat-cache.js";
import { fetchNewestPointer } from "../remote/pointer-sources.js";
import { recordedSource } from "../remote/recorded-source.js";
import { type RetryPolicy, retryingVerification } from "../remote/retry.js";
import { anchorKeyids, toAnchor, type TrustOption } from "../remote/trust.js";
import { carrySelection, restrict } from "../../core/selection.js";
import { contentFields, installedSelection, materialized, withContent } from "../install/content.js";
import {
  checkRuntimeName,
  runtimeError,
  runtimeMismatch,
  type SetAsideRecord,
  setAsideStaleRelease,
} from "../plan/runtime.js";

export interface UpdateOptions extends ClientDeps {
  readonly repoUrl: string;
  /** More base URLs of the same repository, tried after repoUrl (docs/HOSTING.md "Mirrors"). */
  readonly mirrors?: readonly string[];
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
  /** Reinstall the current release in place: re-hash and rewrite every file (see force.ts). */
  readonly force?: boolean;
  /**
   * Which installed files the update verifies on disk: "all", or only those the update "changes" (a tree
   * diff, for very large installs); default "auto" (see incremental.ts).
   */
  readonly verify?: VerifyMode;
  /** "next-start": stage and verify everything now, commit at the next `open` (docs/ROLLBACK.md). */
  readonly applyOn?: "now" | "next-start";
  /** Caller's policy (metered connection, low disk, ...): may refuse before anything is downloaded. */
  readonly beforeDownload?: RefusalHook;
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
  /** Staged for the next `open` (applyOn "next-start") rather than committed. */
  readonly pending?: boolean;
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
  /** Hashes of the tree objects the release references (empty for an inline manifest). */
  readonly objects: ObjectSet;
  readonly local: LocalIndex;
  /** An incremental update: the installed stat cache outside the plan's paths is kept as it is. */
  readonly carry: CarriedStats | undefined;
  readonly plan: Plan;
  /** The state's packages/paths/base/runtime after this update. */
  readonly content: Pick<InstallState, "packages" | "paths" | "base" | "runtime">;
  readonly droppedPackages: readonly string[];
  readonly setAside: SetAsideRecord | undefined;
  readonly policy: PolicyView;
}

/** The channel's release is for another runtime, and a release for the client's runtime is installed. */
interface Held {
  readonly held: { readonly version: string; readonly runtime: string };
  /** The channel pointer's expiry (a cached check never outlives it). */
  readonly expires: string;
  readonly state: InstallState;
  readonly repo: RemoteRepository;
  readonly setAside: SetAsideRecord | undefined;
  readonly policy: PolicyView;
}

/** Steps shared by check and update: pointer (verified, fresh), manifest (pinned), local index, plan. */
async function prepare(
  ctx: Context,
  options: UpdateOptions,
  started: Date,
  changes: "read-only" | "update" = "update",
): Promise<Prepared | Held> {
  checkRuntimeName(options.runtime);
  // check() changes nothing: it plans against the installed release even when the gate would set it aside.
  const setAside = changes === "update" ? await setAsideStaleRelease(ctx, options.runtime) : undefined;
  // As stored: a large install's stat cache stays in its file unless the full path needs it.
  const stored = await readStoredState(ctx.fs, ctx.layout);
  // Naming another channel switches the install to it (never a downgrade unless allowDowngrade).
  const channel = options.channel ?? stored?.channel ?? "stable";
  if (!CHANNEL_PATTERN.test(channel)) {
    throw new FerryError(
      "E_USAGE",
      `Invalid channel name ${JSON.stringify(channel)}: lowercase letters, digits, '.', '_' or '-'.`,
      { channel },
    );
  }
  const repo = openRepository(ctx, options);
  const anchor = toAnchor(options.trust);
  // The newest valid pointer among the mirrors, under the newest root (pointer-sources.ts). A pointer or
  // root damaged on the way fails verification: fetched again, within the retry policy.
  const recorded = recordedSource(repo);
  const verified = await retryingVerification(
    repositoryPolicy(ctx, options),
    `channel pointer '${channel}'`,
    () => repo.url(`channels/${channel}.json`),
    () => fetchNewestPointer(recorded.source, channel, anchor, stored, started, ctx.signal, ctx.emit),
    recorded.fingerprint,
  );
  const root = verified.root;
  const trustedKeys = stored?.trustedKeys ?? anchorKeyids(anchor, root);
  // Rollout bucket, halt, blocked releases, expiry and rollback checks (refusals are logged).
  const { pointer, policy } = await choosePointerRelease(
    ctx,
    verified.pointer,
    stored,
    started,
    verified.releaseKeysRotated,
    repo.url(`channels/${channel}.json`),
    options,
  );
  ctx.emit({
    type: "pointer",
    version: pointer.body.version,
    serial: pointer.body.serial,
    installedVersion: stored?.version ?? null,
  });
  if (runtimeMismatch(pointer.body, options.runtime)) {
    if (!stored) throw runtimeError(pointer.body, options.runtime!);
    const held = { version: pointer.body.version, runtime: pointer.body.runtime! };
    return { held, expires: pointer.body.expires, state: stored, repo, setAside, policy };
  }
  const ref = pointer.body.manifest;
  const installedBytes = stored ? await installedManifestBytes(ctx, stored, repo) : undefined;
  const incremental =
    stored && installedBytes
      ? await prepareIncremental(ctx, options, stored, installedBytes, repo, ref)
      : undefined;
  if (stored && incremental && "release" in incremental) {
    const inc = incremental.release;
    const paths = new Set([...inc.tracked.files, ...inc.target.files].map((f) => f.path));
    const stats = await lookupStats(ctx.fs, ctx.layout, stored, paths);
    const local = await buildLocalIndex(ctx.fs, ctx.layout, inc.tracked, stats, inc.target);
    return {
      ...{ pointer, root, trustedKeys, state: stored, repo, manifestBytes: inc.manifestBytes },
      ...{ manifest: checkAgainstPointer(inc.target, pointer), objects: inc.objects, local },
      plan: makePlan(inc.target, local.files, await stagedChunks(ctx)),
      carry: carriedStats(stored, paths, stats),
      content: contentFields(inc.selection, undefined, pointer.body.runtime),
      ...{ droppedPackages: [], setAside, policy },
    };
  }
  const state = stored ? await withStatFiles(ctx.fs, ctx.layout, stored) : undefined;
  const installed =
    state && installedBytes
      ? await loadRelease(ctx, state.manifest, installedBytes.bytes, installedBytes.where, repo)
      : undefined;
  // Same release as installed: no metadata download, but the plan still restores damaged or missing files.
  const sameRelease = state !== undefined && installed !== undefined && state.manifest.hash === ref.hash;
  const manifestBytes = sameRelease
    ? installedBytes!.bytes
    : incremental && "manifestBytes" in incremental
      ? incremental.manifestBytes
      : await repo.manifestBytes(ref, ctx.signal);
  const release = sameRelease
    ? installed
    : await loadRelease(ctx, ref, manifestBytes, repo.url(`manifests/${ref.hash}`), repo, {
        ...(state ? { deltasFrom: state.manifest.hash } : {}),
      });
  const manifest = checkAgainstPointer(release.manifest, pointer);
  // Packages and the base overlay (docs/PACKAGES.md): the plan targets only the files the install holds.
  const current = state && installed ? installedSelection(state, installed.manifest) : undefined;
  const carried = carrySelection(installed?.manifest, current, manifest, options.packages);
  const base = options.base === undefined ? state?.base : resolve(options.base);
  const target = await materialized(ctx.fs, manifest, carried.selection, base);
  const tracked = installed && current ? restrict(installed.manifest, current) : undefined;
  const statCache = options.force ? {} : (state?.files ?? {});
  const local = await buildLocalIndex(ctx.fs, ctx.layout, tracked, statCache, target);
  const plan = makePlan(
    target,
    options.force ? forceRewrite(local.files) : local.files,
    await stagedChunks(ctx),
  );
  const content = contentFields(carried.selection, base, pointer.body.runtime);
  const droppedPackages = carried.droppedPackages;
  const objects = new Set(release.objects.map((o) => o.hash));
  return {
    ...{ pointer, root, trustedKeys, state, repo, manifestBytes, manifest, objects, local, plan },
    ...{ content, droppedPackages, setAside, policy, carry: undefined },
  };
}

/** The manifest, once its version and runtime are the ones the signed pointer names. */
function checkAgainstPointer(manifest: Manifest, pointer: SignedPointer): Manifest {
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
  return manifest;
}

/** Chunks verified and staged by an earlier run that did not finish. */
async function stagedChunks(ctx: Context): Promise<Set<string>> {
  return new Set((await ctx.fs.readdir(ctx.layout.stagedChunks)).filter((n) => /^[0-9a-f]{64}$/.test(n)));
}

/** The tree objects a release references, or a way to list them when they are needed (after a commit). */
export type ObjectSet = ReadonlySet<string> | (() => Promise<ReadonlySet<string>>);

/** The installed stat cache an incremental update keeps: every entry but those of the diff's paths. */
export interface CarriedStats {
  /** The installed state: its `files`, or its stat file. */
  readonly state: InstallState;
  readonly except: ReadonlySet<string>;
  /** Entries kept (files the update does not look at). */
  readonly count: number;
}

function carriedStats(
  state: InstallState,
  except: ReadonlySet<string>,
  found: Readonly<Record<string, StatCacheEntry>>,
): CarriedStats {
  if (state.statCache) return { state, except, count: state.statCache.entries - Object.keys(found).length };
  let count = 0;
  for (const path in state.files) if (!except.has(path)) count++;
  return { state, except, count };
}

/** The repository at `repoUrl`, retrying transient failures with the context's clock. */
export function openRepository(
  ctx: Context,
  options: Pick<UpdateOptions, "repoUrl" | "mirrors" | "maxAttempts">,
): RemoteRepository {
  return new RemoteRepository([options.repoUrl, ...(options.mirrors ?? [])], ctx.transport, {
    ...repositoryPolicy(ctx, options),
    emit: ctx.emit,
  });
}

/** The client's retry policy (retry.ts) on the context's clock and signal. */
function repositoryPolicy(ctx: Context, options: Pick<UpdateOptions, "maxAttempts">): RetryPolicy {
  return {
    maxAttempts: options.maxAttempts ?? 5,
    sleep: (ms, signal) => ctx.clock.sleep(ms, signal),
    signal: ctx.signal,
    onRetry: (attempt, delayMs, error) =>
      ctx.emit({
        type: "retry",
        url: String(error.data.url ?? ""),
        attempt,
        delayMs,
        code: error.code,
        message: error.message,
      }),
  };
}

/**
 * The installed release; with a repository, a lost or damaged local manifest or object is fetched again
 * (the same pinned bytes), otherwise it is an error.
 */
export async function loadInstalledRelease(
  ctx: Context,
  state: InstallState,
  repo: RemoteRepository | undefined,
): Promise<MaterializedRelease> {
  const { bytes, where } = await installedManifestBytes(ctx, state, repo);
  return loadRelease(ctx, state.manifest, bytes, where, repo);
}

/** The installed release's manifest bytes (inline manifest or tree header), where they came from. */
export async function installedManifestBytes(
  ctx: Context,
  state: InstallState,
  repo: RemoteRepository | undefined,
): Promise<{ bytes: Uint8Array; where: string }> {
  const path = ctx.layout.manifest(state.manifest.hash);
  try {
    const bytes = await ctx.fs.readFile(path);
    checkManifestBytes(bytes, state.manifest, path);
    return { bytes, where: path };
  } catch (localError) {
    if (!repo) throw localError;
    const bytes = await repo.manifestBytes(state.manifest, ctx.signal).catch(() => {
      throw localError;
    });
    await ctx.fs.mkdirp(ctx.layout.manifests);
    await ctx.fs.writeFileAtomic(path, bytes);
    return { bytes, where: repo.url(`manifests/${state.manifest.hash}`) };
  }
}

export async function loadInstalledManifest(ctx: Context, state: InstallState): Promise<Manifest> {
  return (await loadInstalledRelease(ctx, state, undefined)).manifest;
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
  /** The signed pointer's expiry (a cached answer never outlives it). */
  readonly expires: string;
  /** The release's notes and runtime, when the publisher recorded them. */
  readonly notes?: string;
  readonly runtime?: string;
  /** The pointer's policy (docs/ROLLBACK.md): mandatory, minimum version, rollout bucket. */
  readonly mandatory: boolean;
  readonly minVersion: string | null;
  /** The installed version is below minVersion: the game should update before playing. */
  readonly mustUpdate: boolean;
  /** This install's bucket for the release (0..9999) when the channel is in a staged rollout. */
  readonly rolloutBucket: number | null;
  /** "release", "fallback" (outside a rollout), "stay" or "halted" (docs/ROLLBACK.md). */
  readonly selection: Selection["reason"];
  /**
   * Untracked files (not in the installed release: saves, configs, mods) at paths the update writes:
   * the update moves them to `.ferry/displaced/` (docs/FORMAT.md §7). Present only when there are some.
   */
  readonly collisions?: readonly string[];
}

/** Is an update available, and how many bytes would it download? Changes nothing but the lock. */
export async function check(options: UpdateOptions): Promise<CheckResult> {
  const ctx = makeContext(options.installDir, options, DEFAULT_CHECK_DEADLINE_MS);
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
        expires: p.expires,
        mandatory: p.policy.mandatory,
        minVersion: p.policy.minVersion,
        mustUpdate: p.policy.mustUpdate,
        rolloutBucket: p.policy.selection.bucket,
        selection: p.policy.selection.reason,
      };
    }
    const written = p.plan.writes.map((w) => w.file.path);
    const collisions = await untrackedAt(ctx.fs, ctx.layout, written, trackedPaths(p.local));
    return {
      ...(collisions.length > 0 ? { collisions } : {}),
      updateAvailable: !isNoop(p),
      installedVersion: p.state?.version ?? null,
      version: p.pointer.body.version,
      serial: p.pointer.body.serial,
      downloadBytes: p.plan.downloadBytes,
      filesToWrite: p.plan.writes.length,
      filesToDelete: p.plan.deletes.length,
      metadataBytes: p.repo.metadataBytes,
      expires: p.pointer.body.expires,
      ...releaseInfo(p.manifest),
      mandatory: p.policy.mandatory,
      minVersion: p.policy.minVersion,
      mustUpdate: p.policy.mustUpdate,
      rolloutBucket: p.policy.selection.bucket,
      selection: p.policy.selection.reason,
    };
  });
}

/**
 * Installs or updates to the channel's current release: verify, plan, download only what is missing,
 * stage and verify everything, then one journaled commit. On any failure before the commit the install
 * is unchanged (verified downloads stay in staging for the next run).
 */
export async function update(options: UpdateOptions): Promise<UpdateSummary> {
  const ctx = makeContext(options.installDir, options, DEFAULT_UPDATE_DEADLINE_MS);
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
      // An incremental no-op looked at no file: the stat cache stays as it is.
      const files = p.carry
        ? state!.files
        : Object.fromEntries(p.plan.keep.map((path) => [path, cacheEntry(p.local.stats.get(path)!)]));
      if (
        state &&
        (pointer.body.serial !== state.serial ||
          pointer.body.channel !== state.channel ||
          canonicalJson(p.root.document) !== canonicalJson(state.root) ||
          (files !== state.files && canonicalJson(files) !== canonicalJson(state.files)) ||
          canonicalJson(withContent(state, p.content)) !== canonicalJson(state))
      ) {
        const statCache = p.carry ? undefined : await saveStats(ctx.fs, ctx.layout, files);
        await ctx.fs.writeFileAtomic(
          ctx.layout.state,
          encodeState({
            ...withContent(state, p.content),
            channel: pointer.body.channel,
            serial: pointer.body.serial,
            pointer: pointer.document,
            root: p.root.document,
            ...(statCache ? { files: {}, statCache } : { files }),
          }),
        );
      }
      // Staging left by a run that failed after its commit. An incremental no-op leaves kept objects alone
      // (listing them reads every directory object; the next commit's cleanup prunes them).
      await cleanup(ctx, pointer.body.manifest.hash, p.carry ? undefined : p.objects);
      return summary(ctx, started, repo, {
        ...base,
        upToDate: true,
        filesKept: p.plan.keep.length + (p.carry?.count ?? 0),
        bytesHashed: p.local.hashedBytes,
      });
    }
    // Halted release: the previous release kept here is the target, restore it without a download.
    const halted =
      p.policy.selection.reason === "halted" && state
        ? await haltToPrevious(ctx, state, pointer, p.root.document)
        : undefined;
    if (halted) {
      return summary(ctx, started, repo, {
        ...base,
        upToDate: false,
        filesWritten: halted.filesRestored,
        filesDeleted: halted.filesDeleted,
      });
    }
    await runRefusalHook(
      ctx,
      options.beforeDownload,
      {
        version: pointer.body.version,
        release: pointer.body.manifest.hash,
        installedVersion: state?.version ?? null,
        mandatory: p.policy.mandatory,
      },
      p.plan,
    );
    const { bytesReused, fetcher, deltaCounts, pending } = await executePlan(ctx, options, {
      repo,
      manifest: p.manifest,
      manifestBytes: p.manifestBytes,
      objects: p.objects,
      plan: p.plan,
      local: p.local,
      ...(p.carry ? { carry: p.carry } : {}),
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
      ...(state && state.manifest.hash !== pointer.body.manifest.hash ? { previous: state } : {}),
      ...(options.applyOn === "next-start" ? { applyOn: "next-start" as const } : {}),
    });
    await logUpdate(ctx, {
      pending,
      version: pointer.body.version,
      release: pointer.body.manifest.hash,
      from: state,
    });
    const { plan, local } = p;
    return summary(ctx, started, repo, {
      ...base,
      upToDate: false,
      filesWritten: plan.writes.length,
      filesDeleted: plan.deletes.length,
      filesKept: plan.keep.length + (p.carry?.count ?? 0),
      bytesReused,
      bytesHashed: local.hashedBytes,
      deltasApplied: deltaCounts.delta,
      deltaFallbacks: deltaCounts["delta-fallback"],
      fetcher,
      pending,
    });
  });
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
  options: Pick<UpdateOptions, "concurrency" | "rangeMode" | "maxAttempts">,
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
  // A large install's stat cache goes to its own file (stat-cache.ts), written before the journal names it.
  const statCache = await saveStats(
    ctx.fs,
    ctx.layout,
    files,
    input.carry?.state.statCache ? input.carry : undefined,
  );
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
    untracked.length > 0 ? { dir: displacementDir(ctx.clock.now()), paths: untracked } : undefined;
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
  await cleanup(ctx, input.state.manifest.hash, input.objects);
  return { bytesReused, fetcher, deltaCounts, pending: false };
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

/** After a commit: removes staging and what the installed release no longer needs (objects: when given). */
async function cleanup(ctx: Context, keepManifest: string, objects: ObjectSet | undefined): Promise<void> {
  if (objects) {
    // The kept previous release's objects stay with it, for a rollback (docs/ROLLBACK.md).
    const keepObjects = typeof objects === "function" ? await objects() : objects;
    const installed = await readStoredState(ctx.fs, ctx.layout);
    const previous = installed ? await keptPreviousObjects(ctx, installed) : [];
    await pruneKeptObjects(ctx, new Set([...keepObjects, ...previous]));
  }
  // Stat files: the installed state's and the kept previous release's.
  const installed = await readStoredState(ctx.fs, ctx.layout);
  const record = installed ? await readPrevious(ctx, installed) : undefined;
  const statFiles = [installed?.statCache?.hash, record?.state.statCache?.hash];
  await pruneStatFiles(ctx.fs, ctx.layout, new Set(statFiles.filter((h) => h !== undefined)));
  await ctx.fs.removeTree(ctx.layout.staging);
  if (await ctx.fs.stat(ctx.layout.pending)) await ctx.fs.unlink(ctx.layout.pending); // superseded
  for (const name of await ctx.fs.readdir(ctx.layout.manifests)) {
    // The kept previous release's manifest stays with it (docs/ROLLBACK.md).
    if (name !== keepManifest && !(await ctx.fs.stat(ctx.layout.previous(name))))
      await ctx.fs.unlink(ctx.layout.manifest(name));
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
      | "pending"
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
