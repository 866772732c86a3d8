import { resolve } from "node:path";
import { HttpTransport } from "../node/http-transport.js";
import { NodeFileSystem } from "../node/node-fs.js";
import { systemClock } from "../node/system-clock.js";
import type { Clock } from "../ports/clock.js";
import type { FileSystem } from "../ports/fs.js";
import type { Transport } from "../ports/transport.js";
import type { EventSink } from "./events.js";
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
  return {
    fs: deps.fs ?? new NodeFileSystem(),
    transport: deps.transport ?? new HttpTransport(),
    clock: deps.clock ?? systemClock,
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
  await ctx.fs.mkdirp(ctx.layout.root);
  const release = await acquireLock(
    ctx.fs,
    ctx.layout,
    ctx.clock,
    deps.lockWaitMs === undefined ? {} : { waitMs: deps.lockWaitMs },
  );
  let result: T;
  try {
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
