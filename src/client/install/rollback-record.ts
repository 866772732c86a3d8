import type { JsonReader } from "../../core/json-reader.js";
import { VERSION_PATTERN } from "../../core/manifest.js";
import type { FileSystem } from "../../ports/fs.js";
import { healthFor, readHealth, writeHealth } from "./health.js";
import type { InstallLayout } from "./layout.js";
import { appendUpdateLogEntry } from "./update-log.js";

/** Why a rollback happened, carried in its journal (docs/ROLLBACK.md). */
export interface RollbackRecord {
  /** ROLLBACK_CRASH_LOOP, ROLLBACK_REQUESTED or ROLLBACK_HALTED. */
  readonly code: string;
  readonly message: string;
  readonly time: string;
  /** The release rolled back from. */
  readonly version: string;
  readonly release: string;
  /** The release restored. */
  readonly toVersion: string;
  readonly toRelease: string;
  /** Refuse to install `release` again. */
  readonly block: boolean;
}

const HASH = /^[0-9a-f]{64}$/;

export function parseRollbackRecord(r: JsonReader): RollbackRecord {
  return {
    code: r.string("code", /^[A-Z_]{1,64}$/),
    message: r.string("message"),
    time: r.string("time"),
    version: r.string("version", VERSION_PATTERN),
    release: r.string("release", HASH),
    toVersion: r.string("toVersion", VERSION_PATTERN),
    toRelease: r.string("toRelease", HASH),
    block: r.boolean("block"),
  };
}

/**
 * Part of a rollback's commit, after the state and before the journal goes: idempotent (a recovery
 * may run it again), so the log holds the entry once and the block is set once.
 */
export async function recordRollback(
  ctx: { readonly fs: FileSystem; readonly layout: InstallLayout },
  record: RollbackRecord,
): Promise<void> {
  await appendUpdateLogEntry(
    ctx,
    {
      time: record.time,
      kind: "rolled-back",
      code: record.code,
      message: record.message,
      version: record.version,
      release: record.release,
      fromVersion: record.version,
    },
    true,
  );
  const health = await readHealth(ctx);
  const blocked = health.blocked.filter((b) => b.release !== record.release);
  await writeHealth(ctx, {
    ...healthFor(health, record.toRelease),
    blocked: record.block
      ? [
          ...blocked,
          {
            release: record.release,
            version: record.version,
            code: record.code,
            message: record.message,
            time: record.time,
          },
        ]
      : health.blocked,
  });
}
