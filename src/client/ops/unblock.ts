import { FerryError } from "../../core/errors.js";
import { withInstall } from "../apply/with-install.js";
import { type InstallOptions, makeContext } from "../context.js";
import { type BlockedRelease, readHealth, writeHealth } from "../install/health.js";
import { appendUpdateLog } from "../install/update-log.js";
import { requireInstallDir } from "./inspect.js";

export interface UnblockOptions extends InstallOptions {
  /** The blocked version to allow again (every block of that version). */
  readonly version?: string;
  /** Every block of the install. Exactly one of `version` and `all`. */
  readonly all?: boolean;
}

export interface UnblockResult {
  /** The blocks removed (the next update may install these releases again). */
  readonly unblocked: readonly BlockedRelease[];
  /** The blocks that stay. */
  readonly blocked: readonly BlockedRelease[];
}

/**
 * Lifts the block a rollback put on a release (docs/ROLLBACK.md "Unblocking a release"), on purpose:
 * after a fix outside the release (a driver, a config), or when the rollback was a mistake. Under the
 * install lock; logs one `unblocked` entry per block removed. It changes nothing else: the next `update`
 * installs the channel's release if that is the one unblocked.
 */
export async function unblock(options: UnblockOptions): Promise<UnblockResult> {
  const { installDir, version, all, ...deps } = options;
  if ((version === undefined) === (all !== true)) {
    throw new FerryError(
      "E_USAGE",
      "Name the blocked version to allow again (unblock({ version }), 'ferry unblock <dir> <version>') or pass all (--all) for every block.",
      {},
    );
  }
  const ctx = makeContext(installDir, deps);
  await requireInstallDir(ctx);
  return withInstall(ctx, deps, async () => {
    const health = await readHealth(ctx);
    const lift = health.blocked.filter((b) => all === true || b.version === version);
    if (version !== undefined && lift.length === 0) {
      const names = health.blocked.map((b) => b.version);
      throw new FerryError(
        "E_USAGE",
        `Release ${version} is not blocked on ${ctx.layout.root}; ${names.length === 0 ? "no release is blocked there" : `blocked: ${names.join(", ")}`} ('ferry status ${ctx.layout.root}' lists blocks).`,
        { version, path: ctx.layout.root },
      );
    }
    const blocked = health.blocked.filter((b) => !lift.includes(b));
    if (lift.length > 0) await writeHealth(ctx, { ...health, blocked });
    for (const b of lift)
      await appendUpdateLog(ctx, {
        kind: "unblocked",
        code: "UNBLOCKED",
        message: `Release ${b.version} was unblocked on purpose (blocked since ${b.time}, ${b.code}); the next update may install it again.`,
        version: b.version,
        release: b.release,
      });
    return { unblocked: lift, blocked };
  });
}
