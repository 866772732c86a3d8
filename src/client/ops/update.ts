import { executePlan } from "../apply/execute.js";
import type { ChunkFetcher } from "../apply/fetcher.js";
import { commitNoop } from "../apply/noop.js";
import { trackedPaths, untrackedAt } from "../apply/displaced.js";
import {
  type Context,
  DEFAULT_CHECK_DEADLINE_MS,
  DEFAULT_UPDATE_DEADLINE_MS,
  makeContext,
} from "../context.js";
import { readInstall, withInstall } from "../apply/with-install.js";
import { readStoredState } from "../install/state.js";
import { logUpdate } from "../install/update-log.js";
import { runRefusalHook } from "../plan/policy.js";
import { isNoop, prepare } from "../plan/prepare.js";
import { setAsideStaleRelease } from "../apply/set-aside.js";
import { checkRuntimeName } from "../../core/names.js";
import type { RemoteRepository } from "../remote/remote.js";
import { releaseInfo } from "../../core/release-info.js";
import { haltToPrevious } from "../apply/rollback.js";
import type { CheckResult, UpdateOptions, UpdateSummary } from "./update-types.js";

export type { CheckResult, UpdateOptions, UpdateSummary } from "./update-types.js";

/**
 * Is an update available, and how many bytes would it download? Read-only: it takes no lock and writes
 * nothing (no state.json, stat cache, check cache, install id, log line, kept object or game file), so it
 * answers on an install the user cannot write and while an update runs (readInstall). Tree objects it
 * downloads are used in memory only; the update fetches them again. On a directory with no install yet
 * it answers for a first install (nothing is created).
 */
export async function check(options: UpdateOptions): Promise<CheckResult> {
  const ctx: Context = {
    ...makeContext(options.installDir, options, DEFAULT_CHECK_DEADLINE_MS),
    readOnly: true,
  };
  const started = ctx.clock.now();
  return readInstall(ctx, options, async () => {
    const p = await prepare(ctx, options, started, await readStoredState(ctx.fs, ctx.layout), undefined);
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
    checkRuntimeName(options.runtime);
    // state.json is read once: the gate and the planner get the same copy (none once set aside).
    const stored = await readStoredState(ctx.fs, ctx.layout);
    const setAside = await setAsideStaleRelease(ctx, options.runtime, stored);
    const p = await prepare(ctx, options, started, setAside ? undefined : stored, setAside);
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
      await commitNoop(ctx, p);
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
