import type { Manifest } from "../../core/manifest.js";
import { plan as makePlan } from "../../core/planner.js";
import { restrict, type Selection } from "../../core/selection.js";
import type { Context } from "../context.js";
import { contentFields, installedSelection, materialized, withContent } from "../install/content.js";
import type { RangeMode } from "../events.js";
import { buildLocalIndex, cacheEntry } from "../plan/local-index.js";
import { checkInstalledPointer } from "./repair.js";
import { requireState } from "../install/read-state.js";
import type { TrustOption } from "../remote/trust.js";
import { executePlan } from "../apply/execute.js";
import { refreshState } from "../apply/refresh-state.js";
import { loadInstalledRelease } from "../plan/installed-release.js";
import { openRepository } from "../remote/open.js";

export interface ReselectOptions {
  /** Where chunks are fetched; default the repository the install came from (state.json `repo`). */
  readonly repoUrl?: string;
  /** Re-verifies the installed pin (as repair does), so a tampered state cannot redirect the fetch. */
  readonly trust: TrustOption;
  readonly concurrency?: number;
  readonly rangeMode?: RangeMode;
  readonly maxAttempts?: number;
}

export interface ReselectResult {
  readonly version: string;
  readonly before: Selection;
  readonly after: Selection;
  readonly filesWritten: number;
  readonly filesDeleted: number;
  readonly bytesDownloaded: number;
  readonly requests: number;
  readonly chunksFetched: number;
}

/**
 * Changes what an install holds of its *installed* release (never moves to another release): plan from
 * the current selection to `change(current)`, then the same staging, verification and journaled commit
 * as an update (executePlan). Files outside both selections are never read for deletion; a removed
 * package's files are the plan's deletes. Runs under the install lock (caller's withInstall).
 */
export async function reselect(
  ctx: Context,
  options: ReselectOptions,
  change: (current: Selection, manifest: Manifest) => Selection,
): Promise<ReselectResult> {
  const state = await requireState(ctx);
  await checkInstalledPointer(state, options.trust, ctx.layout.state, ctx.crypto);
  const repo = openRepository(ctx, { repoUrl: options.repoUrl ?? state.repo, ...maxAttempts(options) });
  const release = await loadInstalledRelease(ctx, state, repo);
  const manifest = release.manifest;
  const before = installedSelection(state, manifest);
  const after = change(before, manifest);
  const target = await materialized(ctx.fs, manifest, after, state.base, ctx.crypto);
  const local = await buildLocalIndex(
    ctx.fs,
    ctx.layout,
    restrict(manifest, before),
    state.files,
    target,
    ctx.crypto,
  );
  const stored = new Set(
    (await ctx.fs.readdir(ctx.layout.stagedChunks)).filter((n) => /^[0-9a-f]{64}$/.test(n)),
  );
  const plan = makePlan(target, local.files, stored);
  const next = withContent(state, contentFields(after, state.base, state.runtime));
  const result = {
    version: state.version,
    before,
    after,
    filesWritten: plan.writes.length,
    filesDeleted: plan.deletes.length,
  };
  if (plan.writes.length === 0 && plan.deletes.length === 0) {
    const files = Object.fromEntries(plan.keep.map((path) => [path, cacheEntry(local.stats.get(path)!)]));
    await refreshState(ctx, state, { ...next, files });
    return { ...result, bytesDownloaded: repo.metadataBytes, requests: repo.requests, chunksFetched: 0 };
  }
  const { fetcher } = await executePlan(ctx, options, {
    repo,
    manifest,
    manifestBytes: await ctx.fs.readFile(ctx.layout.manifest(state.manifest.hash)),
    objects: new Set(release.objects.map((o) => o.hash)),
    plan,
    local,
    state: next,
  });
  return {
    ...result,
    bytesDownloaded: fetcher.bytesDownloaded + repo.metadataBytes,
    requests: repo.requests,
    chunksFetched: fetcher.chunksFetched,
  };
}

function maxAttempts(options: ReselectOptions): { maxAttempts?: number } {
  return options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts };
}
