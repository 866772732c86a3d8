import { FerryError, ioError, isFerryError } from "../../core/errors.js";
import type { ClientDeps, Context } from "../context.js";
import { assertFerryTree } from "../install/ferry-dir.js";
import { acquireLock } from "../install/lock.js";
import { recover } from "./journal.js";

/**
 * Runs `work` holding the install lock, after recovering any interrupted commit: every operation on an
 * install starts from exactly one release, never from a half-applied one.
 */
export async function withInstall<T>(ctx: Context, deps: ClientDeps, work: () => Promise<T>): Promise<T> {
  try {
    return await lockedRun(ctx, deps, work);
  } catch (error) {
    throw typed(pastDeadline(ctx, error), ctx.layout.root);
  } finally {
    ctx.deadline?.clear();
  }
}

/** After the deadline fired, whatever the abort caused (E_ABORTED, a network error) reports the deadline. */
function pastDeadline(ctx: Context, error: unknown): unknown {
  const reason: unknown = ctx.deadline?.signal.aborted ? ctx.deadline.signal.reason : undefined;
  if (!(reason instanceof FerryError) || error === reason) return error;
  if (isFerryError(error, "E_TIMEOUT") && error.data.scope === "operation") return error;
  return new FerryError(reason.code, reason.message, reason.data, { cause: error });
}

/**
 * The library's boundary: a system error (an object with an errno-style code such as EIO, ENOSPC) that
 * reached it unconverted, e.g. from a FileSystem implementation supplied by the caller, becomes E_IO;
 * anything else (a FerryError, or a bug) passes unchanged.
 */
function typed(error: unknown, root: string): unknown {
  if (isFerryError(error)) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && /^E[A-Z0-9]+$/.test(code)) {
    const path = (error as { path?: unknown }).path;
    return ioError(
      String((error as { syscall?: unknown }).syscall ?? "file operation"),
      typeof path === "string" ? path : root,
      error,
    );
  }
  return error;
}

async function lockedRun<T>(ctx: Context, deps: ClientDeps, work: () => Promise<T>): Promise<T> {
  await ctx.fs.mkdirp(ctx.layout.root);
  const release = await acquireLock(
    ctx.fs,
    ctx.layout,
    ctx.clock,
    deps.lockWaitMs === undefined ? { host: ctx.host } : { host: ctx.host, waitMs: deps.lockWaitMs },
  );
  let result: T;
  try {
    await assertFerryTree(ctx.fs, ctx.layout);
    if (await recover(ctx.fs, ctx.layout)) ctx.emit({ type: "recovered", journal: ctx.layout.journal });
    result = await work();
  } catch (error) {
    // The operation's own error is the one to report; a failing lock release must not replace it.
    await release().catch((releaseError: unknown) => {
      if (error instanceof Error && !error.cause) Object.assign(error, { cause: releaseError });
    });
    throw error;
  }
  await release();
  return result;
}
