import { FerryError, ioError, isFerryError, notADirectory } from "../../core/errors.js";
import { joinPath, parentPath } from "../paths.js";
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
    await requireDirectory(ctx);
    return await lockedRun(ctx, deps, work, await firstInstallMarks(ctx));
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

/**
 * The install directory is a directory (or absent: the first update creates it). A file there, or a
 * file in place of a parent, is named as such rather than reported as a failed mkdir. A symlink to a
 * directory is a legitimate install directory and is followed by the operating system.
 */
export async function requireDirectory(ctx: Context): Promise<void> {
  for (let path = ctx.layout.root; ;) {
    const stat = await ctx.fs.stat(path);
    if (stat?.kind === "file" || stat?.kind === "other") {
      throw path === ctx.layout.root
        ? notADirectory(path, stat.kind)
        : notADirectory(path, stat.kind, `${ctx.layout.root} cannot be created:`);
    }
    if (stat) return;
    const parent = parentPath(path);
    if (parent === path || parent === ".") return;
    path = parent;
  }
}

/** Before a first install (no `.ferry/` yet): the directories it will create, innermost first. */
interface FirstInstall {
  readonly created: readonly string[];
}

async function firstInstallMarks(ctx: Context): Promise<FirstInstall | undefined> {
  if (await ctx.fs.stat(ctx.layout.ferry)) return undefined;
  const created: string[] = [];
  for (let path = ctx.layout.root; !(await ctx.fs.stat(path));) {
    created.push(path);
    const parent = parentPath(path);
    if (parent === path || parent === ".") break;
    path = parent;
  }
  return { created };
}

/**
 * A first install that failed before its commit leaves the directory as it found it: `.ferry/` removed
 * and the directories it created removed again (when still empty). Called holding the lock, which it
 * removes last. Kept instead, so that the next run resumes: downloads already verified in staging (an
 * interrupted or cancelled download), and anything past the commit point (state.json or a journal).
 * Returns whether it removed the lock (then the caller must not release it).
 */
async function undoFirstInstall(ctx: Context, marks: FirstInstall): Promise<boolean> {
  const { fs, layout } = ctx;
  if ((await fs.stat(layout.state)) || (await fs.stat(layout.journal)) || (await fs.stat(layout.pending)))
    return false;
  if ((await fs.readdir(layout.stagedChunks)).length > 0) return false;
  for (const name of await fs.readdir(layout.ferry)) {
    if (name !== "lock") await fs.removeTree(joinPath(layout.ferry, name));
  }
  await fs.unlink(layout.lock);
  await fs.rmdirIfEmpty(layout.ferry);
  for (const dir of marks.created) if (!(await fs.rmdirIfEmpty(dir))) break;
  return true;
}

async function lockedRun<T>(
  ctx: Context,
  deps: ClientDeps,
  work: () => Promise<T>,
  fresh?: FirstInstall,
): Promise<T> {
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
    // The operation's own error is the one to report; a failing clean-up or lock release must not
    // replace it (it becomes the error's cause).
    const attach = (cleanupError: unknown) => {
      if (error instanceof Error && !error.cause) Object.assign(error, { cause: cleanupError });
      return false;
    };
    const undone = fresh ? await undoFirstInstall(ctx, fresh).catch(attach) : false;
    if (!undone) await release().catch(attach);
    throw error;
  }
  await release();
  return result;
}

/**
 * For the read-only operations (status, verify, check, canUpdate's reads): they take no lock and write
 * nothing, so they work on an install the user cannot write and while an update holds the lock (a
 * launcher shows status during an update). The one exception is an interrupted commit (a journal left
 * behind): when the install is writable and no live updater holds the lock, it is rolled forward first,
 * under the lock, as every writer does, so the answer is about exactly one release. When that is not
 * possible (read-only install, or an updater is running and will finish the commit itself), the state is
 * read as it is.
 */
export async function readInstall<T>(ctx: Context, deps: ClientDeps, work: () => Promise<T>): Promise<T> {
  try {
    await requireDirectory(ctx);
    if (await ctx.fs.stat(ctx.layout.journal)) {
      // Writability is asked first where the file system can tell: then a roll-forward that fails on an
      // install we may write (a scanner holding a game file) is reported, not hidden behind the old state.
      const known = ctx.fs.writable !== undefined;
      const writable = known ? (await ctx.fs.writable!(ctx.layout.ferry)) === undefined : true;
      const recovered = !writable
        ? undefined
        : await lockedRun(ctx, { ...deps, lockWaitMs: 0 }, work).then(
            (result) => ({ result }),
            (error: unknown) => {
              if (isFerryError(error, "E_LOCKED") || isFerryError(error, "E_NOT_WRITABLE")) return undefined;
              if (!known && isFerryError(error, "E_IO") && CANNOT_WRITE.has(String(error.data.systemCode)))
                return undefined;
              throw error;
            },
          );
      if (recovered) return recovered.result;
    }
    await assertFerryTree(ctx.fs, ctx.layout);
    return await work();
  } catch (error) {
    throw typed(pastDeadline(ctx, error), ctx.layout.root);
  } finally {
    ctx.deadline?.clear();
  }
}

/** System codes that mean "this process may not write here" (not a fault of the install). */
const CANNOT_WRITE = new Set(["EACCES", "EPERM", "EROFS"]);
