import { rolloutBucket } from "../../core/release-policy.js";
import type { Context } from "../context.js";
import { type BlockedRelease, healthFor, readHealth, readInstallId } from "../install/health.js";
import { readPrevious } from "../apply/previous.js";
import type { InstallState } from "../install/state.js";
import { readUpdateLogEntries, type UpdateLogEntry } from "../install/update-log.js";

/** The lifecycle part of `ferry status` (docs/ROLLBACK.md). */
export interface LifecycleStatus {
  readonly installId: string | null;
  /** This install's bucket for the last seen pointer's release, when that pointer had a rollout. */
  readonly rolloutBucket: number | null;
  readonly rolloutBasisPoints: number | null;
  readonly healthy: boolean;
  readonly launches: number;
  readonly blocked: readonly BlockedRelease[];
  /** The version a rollback would restore, or null. */
  readonly previousVersion: string | null;
  /** A staged update waits for the next open. */
  readonly pending: boolean;
  /** The newest refusal, rollback or discarded staged update in the log. */
  readonly lastError: UpdateLogEntry | null;
}

const PROBLEMS = new Set<UpdateLogEntry["kind"]>([
  "refused",
  "rolled-back",
  "no-previous",
  "discarded-staged",
]);

export async function lifecycleStatus(ctx: Context, state: InstallState): Promise<LifecycleStatus> {
  const installId = (await ctx.fs.stat(ctx.layout.installId)) ? await readInstallId(ctx) : null;
  const signed = (
    state.pointer as { signed?: { rollout?: { basisPoints?: unknown }; manifest?: { hash?: unknown } } }
  )?.signed;
  const basisPoints = typeof signed?.rollout?.basisPoints === "number" ? signed.rollout.basisPoints : null;
  const hash = typeof signed?.manifest?.hash === "string" ? signed.manifest.hash : null;
  const health = healthFor(await readHealth(ctx), state.manifest.hash);
  const previous = await readPrevious(ctx, state);
  const log = await readUpdateLogEntries(ctx);
  return {
    installId,
    rolloutBucket:
      installId && basisPoints !== null && hash ? await rolloutBucket(ctx.crypto, installId, hash) : null,
    rolloutBasisPoints: basisPoints,
    healthy: health.healthy,
    launches: health.launches,
    blocked: health.blocked,
    previousVersion: previous?.state.version ?? null,
    pending: (await ctx.fs.stat(ctx.layout.pending)) !== undefined,
    lastError: log.findLast((e) => PROBLEMS.has(e.kind)) ?? null,
  };
}
