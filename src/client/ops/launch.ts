import { FerryError } from "../../core/errors.js";
import { type InstallOptions, makeContext } from "../context.js";
import { withInstall } from "../apply/with-install.js";
import { type Health, healthFor, readHealth, writeHealth } from "../install/health.js";
import { requireInstallDir } from "./inspect.js";
import { applyPending, type PendingOutcome } from "../apply/pending.js";
import { rollbackAndBlock, type RollbackResult } from "../apply/rollback.js";
import { requireState } from "../install/read-state.js";
import { appendUpdateLog } from "../install/update-log.js";

/** Launches without markHealthy after which the next open rolls back (default). */
export const DEFAULT_MAX_UNHEALTHY_LAUNCHES = 2;

export type { RollbackCode, RollbackResult } from "../apply/rollback.js";

/** Restores the previous release kept at the last update (`ferry rollback`), and blocks the current one. */
export async function rollback(options: InstallOptions): Promise<RollbackResult> {
  const { installDir, ...deps } = options;
  const ctx = makeContext(installDir, deps);
  await requireInstallDir(ctx);
  return withInstall(ctx, deps, async () =>
    rollbackAndBlock(
      ctx,
      await requireState(ctx),
      "ROLLBACK_REQUESTED",
      "requested by the user or the game (rollback).",
    ),
  );
}

export interface OpenOptions extends InstallOptions {
  /** Launches of a release never marked healthy after which the next open rolls back (default 2). */
  readonly maxUnhealthyLaunches?: number;
}

export interface OpenResult {
  readonly version: string;
  readonly release: string;
  /** Launches of this release counted so far, this one included (0 once healthy). */
  readonly launches: number;
  readonly healthy: boolean;
  /** A staged update committed now (apply on next start), or discarded with its reason. */
  readonly staged: PendingOutcome;
  /** Set when this open rolled back a release that kept failing to start. */
  readonly rolledBack: RollbackResult | null;
}

/**
 * Call when the game starts, before it reads its files: commits a staged update, counts the launch of a
 * release not yet marked healthy and, when the previous `maxUnhealthyLaunches` launches never reached
 * markHealthy, rolls back to the previous release and blocks the failing one.
 */
export async function open(options: OpenOptions): Promise<OpenResult> {
  const { installDir } = options;
  const limit = options.maxUnhealthyLaunches ?? DEFAULT_MAX_UNHEALTHY_LAUNCHES;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new FerryError("E_USAGE", `maxUnhealthyLaunches must be a positive integer, got ${limit}.`, {
      limit,
    });
  }
  const ctx = makeContext(installDir, options);
  await requireInstallDir(ctx);
  return withInstall(ctx, options, async () => {
    const staged = await applyPending(ctx);
    let state = await requireState(ctx);
    let health = healthFor(await readHealth(ctx), state.manifest.hash);
    let rolledBack: RollbackResult | null = null;
    if (!health.healthy && health.launches >= limit && !health.exhausted) {
      const why = `${state.version} was launched ${health.launches} times without being marked healthy (limit ${limit}).`;
      try {
        rolledBack = await rollbackAndBlock(ctx, state, "ROLLBACK_CRASH_LOOP", why);
        state = await requireState(ctx);
        health = healthFor(await readHealth(ctx), state.manifest.hash);
      } catch (error) {
        if (!(error instanceof FerryError) || (error.code !== "E_NO_PREVIOUS" && error.code !== "E_DAMAGED"))
          throw error;
        // Nothing to go back to: recorded once, and the game keeps starting the release it has.
        await appendUpdateLog(ctx, {
          kind: "no-previous",
          code: error.code,
          message: `${why} ${error.message}`,
          version: state.version,
          release: state.manifest.hash,
        });
        health = { ...health, exhausted: true };
      }
    }
    if (!health.healthy) health = { ...health, launches: health.launches + 1 };
    await writeHealth(ctx, health);
    return {
      version: state.version,
      release: state.manifest.hash,
      launches: health.launches,
      healthy: health.healthy,
      staged,
      rolledBack,
    };
  });
}

/** Call once the game has started successfully: the installed release stops counting launches. */
export async function markHealthy(options: InstallOptions): Promise<Health> {
  const { installDir, ...deps } = options;
  const ctx = makeContext(installDir, deps);
  await requireInstallDir(ctx);
  return withInstall(ctx, deps, async () => {
    const state = await requireState(ctx);
    const health: Health = {
      ...healthFor(await readHealth(ctx), state.manifest.hash),
      healthy: true,
      launches: 0,
    };
    await writeHealth(ctx, health);
    return health;
  });
}
