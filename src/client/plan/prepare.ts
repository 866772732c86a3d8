import { FerryError } from "../../core/errors.js";
import type { Manifest } from "../../core/manifest.js";
import { plan as makePlan, type Plan } from "../../core/planner.js";
import { checkChannelName, checkRuntimeName } from "../../core/names.js";
import type { SignedPointer } from "../../core/pointer.js";
import type { TrustedRoot } from "../../core/root.js";
import { carrySelection, restrict } from "../../core/selection.js";
import type { Context } from "../context.js";
import { contentFields, installedSelection, materialized } from "../install/content.js";
import type { InstallState, StatCacheEntry } from "../install/state.js";
import { lookupStats, withStatFiles } from "../install/stat-cache.js";
import { openRepository, repositoryPolicy, type RepositoryOptions } from "../remote/open.js";
import { fetchNewestPointer } from "../remote/pointer-sources.js";
import { recordedSource } from "../remote/recorded-source.js";
import { loadRelease } from "../remote/release.js";
import type { RemoteRepository } from "../remote/remote.js";
import { retryingVerification } from "../remote/retry.js";
import { anchorKeyids, toAnchor, type TrustOption } from "../remote/trust.js";
import { forceRewrite } from "./force.js";
import { type IncrementalOptions, prepareIncremental } from "./incremental.js";
import { installedManifestBytes } from "./installed-release.js";
import { buildLocalIndex, type LocalIndex } from "./local-index.js";
import { choosePointerRelease, type PolicyOptions, type PolicyView } from "./policy.js";
import { runtimeError, runtimeMismatch, type SetAsideRecord } from "./runtime.js";

/** The part of check's and update's options that decides what to plan (see UpdateOptions). */
export interface PrepareOptions extends RepositoryOptions, PolicyOptions, IncrementalOptions {
  readonly trust: TrustOption;
  readonly channel?: string;
  readonly runtime?: string;
}

export interface Prepared {
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
/** The channel's release is for another runtime, and a release for the client's runtime is installed. */
export interface Held {
  readonly held: { readonly version: string; readonly runtime: string };
  /** The channel pointer's expiry (a cached check never outlives it). */
  readonly expires: string;
  readonly state: InstallState;
  readonly repo: RemoteRepository;
  readonly setAside: SetAsideRecord | undefined;
  readonly policy: PolicyView;
}

/**
 * Steps shared by check and update: pointer (verified, fresh), manifest (pinned), local index, plan.
 * `stored`: the installed state as stored (read once per operation by the caller; a large install's stat
 * cache stays in its file unless the full path needs it).
 * `setAside`: what the caller's runtime gate set aside before (update runs the gate, check does not: it
 * plans against the installed release even when the gate would set it aside).
 */
export async function prepare(
  ctx: Context,
  options: PrepareOptions,
  started: Date,
  stored: InstallState | undefined,
  setAside: SetAsideRecord | undefined,
): Promise<Prepared | Held> {
  checkRuntimeName(options.runtime);
  // Naming another channel switches the install to it (never a downgrade unless allowDowngrade).
  const channel = options.channel ?? stored?.channel ?? "stable";
  checkChannelName(channel);
  ctx.emit({ type: "phase", phase: "checking", channel });
  const repo = openRepository(ctx, options);
  const anchor = toAnchor(options.trust);
  // The newest valid pointer among the mirrors, under the newest root (pointer-sources.ts). A pointer or
  // root damaged on the way fails verification: fetched again, within the retry policy.
  const recorded = recordedSource(repo, ctx.crypto);
  const verified = await retryingVerification(
    repositoryPolicy(ctx, options),
    `channel pointer '${channel}'`,
    () => repo.url(`channels/${channel}.json`),
    () =>
      fetchNewestPointer(recorded.source, channel, anchor, stored, started, ctx.signal, ctx.emit, ctx.crypto),
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
  ctx.emit({ type: "phase", phase: "planning", version: pointer.body.version });
  const ref = pointer.body.manifest;
  const installedBytes = stored ? await installedManifestBytes(ctx, stored, repo) : undefined;
  const incremental =
    stored && installedBytes
      ? await prepareIncremental(ctx, options, stored, installedBytes, repo, ref)
      : undefined;
  if (stored && incremental && "release" in incremental) {
    const inc = incremental.release;
    const paths = new Set([...inc.tracked.files, ...inc.target.files].map((f) => f.path));
    const stats = await lookupStats(ctx, stored, paths);
    const local = await buildLocalIndex(ctx.fs, ctx.layout, inc.tracked, stats, inc.target, ctx.crypto);
    return {
      ...{ pointer, root, trustedKeys, state: stored, repo, manifestBytes: inc.manifestBytes },
      ...{ manifest: checkAgainstPointer(inc.target, pointer), objects: inc.objects, local },
      plan: makePlan(inc.target, local.files, await stagedChunks(ctx)),
      carry: carriedStats(stored, paths, stats),
      content: contentFields(inc.selection, undefined, pointer.body.runtime),
      ...{ droppedPackages: [], setAside, policy },
    };
  }
  const state = stored ? await withStatFiles(ctx, stored) : undefined;
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
  const base = options.base === undefined ? state?.base : ctx.host.absolutePath(options.base);
  const target = await materialized(ctx.fs, manifest, carried.selection, base, ctx.crypto);
  const tracked = installed && current ? restrict(installed.manifest, current) : undefined;
  const statCache = options.force ? {} : (state?.files ?? {});
  const local = await buildLocalIndex(ctx.fs, ctx.layout, tracked, statCache, target, ctx.crypto);
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

/** Nothing to write or delete, and the installed release is the channel's. */
export function isNoop(p: Prepared): boolean {
  return (
    p.state !== undefined &&
    p.state.manifest.hash === p.pointer.body.manifest.hash &&
    p.plan.writes.length === 0 &&
    p.plan.deletes.length === 0
  );
}
