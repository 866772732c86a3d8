import { resolve } from "node:path";
import { HttpTransport } from "../node/http-transport.js";
import { NodeFileSystem } from "../node/node-fs.js";
import { DEFAULT_RENAME_WAIT_MS, RenameRetryFileSystem } from "../node/rename-retry.js";
import { systemClock } from "../node/system-clock.js";
import { ioError, isFerryError } from "../core/errors.js";
import type { Clock } from "../ports/clock.js";
import type { FileSystem } from "../ports/fs.js";
import type { Transport } from "../ports/transport.js";
import type { EventSink } from "./events.js";
import { assertFerryTree } from "./ferry-dir.js";
import { recover } from "./journal.js";
import { InstallLayout } from "./layout.js";
import { acquireLock } from "./lock.js";

/** Effects a client operation runs with; defaults are the Node adapters. */
export interface ClientDeps {
  readonly fs?: FileSystem;
  readonly transport?: Transport;
  readonly clock?: Clock;
  readonly onEvent?: EventSink;
  readonly signal?: AbortSignal;
  /** Wait this long for another updater's lock (default 0: fail with E_LOCKED). */
  readonly lockWaitMs?: number;
}

export interface Context {
  readonly fs: FileSystem;
  readonly transport: Transport;
  readonly clock: Clock;
  readonly emit: EventSink;
  readonly signal: AbortSignal | undefined;
  readonly layout: InstallLayout;
}

export function makeContext(installDir: string, deps: ClientDeps): Context {
  const clock = deps.clock ?? systemClock;
  return {
    // Renames refused for a moment (Windows antivirus) are retried for a bounded time.
    fs:
      deps.fs ??
      new RenameRetryFileSystem(new NodeFileSystem(), { clock, maxWaitMs: DEFAULT_RENAME_WAIT_MS }),
    transport: deps.transport ?? new HttpTransport(),
    clock,
    emit: deps.onEvent ?? (() => undefined),
    signal: deps.signal,
    layout: new InstallLayout(resolve(installDir)),
  };
}

/**
 * Runs `work` holding the install lock, after recovering any interrupted commit: every operation on an
 * install starts from exactly one release, never from a half-applied one.
 */
export async function withInstall<T>(ctx: Context, deps: ClientDeps, work: () => Promise<T>): Promise<T> {
  try {
    return await lockedRun(ctx, deps, work);
  } catch (error) {
    throw typed(error, ctx.layout.root);
  }
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
    deps.lockWaitMs === undefined ? {} : { waitMs: deps.lockWaitMs },
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
