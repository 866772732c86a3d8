import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, stat, unlink, utimes } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { FerryError, ioError } from "../core/errors.js";

/**
 * One writer at a time per repository (publish, resign, rollout, root, prune). Taken before the command
 * reads the channel or root it will replace, released after its last write. A second writer fails at
 * once with E_LOCKED, before it writes anything that clients read.
 */
export interface RepoLock {
  /** The store's own clock when the lock was taken (a check on the publisher's clock), when known. */
  readonly storeTime?: Date | undefined;
  /** Throws E_LOCKED when the lock was lost (taken over as stale): a writer checks before its pointer write. */
  assertHeld(): Promise<void>;
  release(): Promise<void>;
}

export interface LockOptions {
  /** A lock whose holder has not refreshed it for this long is stale and may be taken over (default 120 s). */
  readonly staleMs?: number;
  /** How often the holder refreshes its lock (default 15 s). */
  readonly heartbeatMs?: number;
}

export const LOCK_FILE = ".ferry-lock";
export const DEFAULT_STALE_MS = 120_000;
export const DEFAULT_HEARTBEAT_MS = 15_000;

export interface LockHolder {
  readonly token: string;
  readonly command: string;
  readonly host: string;
  readonly pid: number;
  readonly started: string;
}

export function newHolder(command: string): LockHolder {
  return {
    token: randomBytes(12).toString("hex"),
    command,
    host: hostname(),
    pid: process.pid,
    started: new Date().toISOString(),
  };
}

export function parseHolder(bytes: Uint8Array | string): LockHolder | undefined {
  try {
    const value = JSON.parse(typeof bytes === "string" ? bytes : Buffer.from(bytes).toString("utf8")) as {
      [k: string]: unknown;
    };
    if (typeof value.token !== "string" || typeof value.pid !== "number") return undefined;
    return {
      token: value.token,
      command: String(value.command),
      host: String(value.host),
      pid: value.pid,
      started: String(value.started),
    };
  } catch {
    return undefined;
  }
}

export function lockedError(location: string, holder: LockHolder | undefined, lockPath: string): FerryError {
  const who = holder
    ? `'ferry ${holder.command}' (pid ${holder.pid} on ${holder.host}, since ${holder.started})`
    : "another writer";
  return new FerryError(
    "E_LOCKED",
    `The repository ${location} is being written by ${who}; nothing was written. Run this command again when it has finished. A lock left by a killed writer is taken over once stale (${lockPath}).`,
    {
      path: lockPath,
      holderCommand: holder?.command,
      holderPid: holder?.pid,
      holderHost: holder?.host,
    },
  );
}

/** True when the holder is a process of this host that no longer exists. */
function deadOnThisHost(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return (error as { code?: string }).code === "ESRCH";
  }
}

/**
 * The lock of a directory repository: `.ferry-lock` created exclusively (O_EXCL) holding pid, host and
 * start time, refreshed (mtime) every heartbeat. Stale when its process is gone (same host) or its mtime
 * is older than staleMs (any host, e.g. a shared network directory). Takeover runs under a second
 * exclusive file, `.ferry-lock.takeover`, so two writers that both find the lock stale cannot both remove
 * it: only the one holding the takeover file checks the lock again and removes it, then both race on the
 * exclusive create, which one wins.
 */
export async function lockDirectory(
  root: string,
  command: string,
  options: LockOptions = {},
): Promise<RepoLock> {
  const path = join(root, LOCK_FILE);
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const holder = newHolder(command);
  const body = `${JSON.stringify(holder)}\n`;
  await mkdir(root, { recursive: true }).catch((e: unknown) => {
    throw ioError("mkdir", root, e);
  });
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(path, "wx", 0o644);
      try {
        await handle.writeFile(body);
        await handle.sync();
      } finally {
        await handle.close();
      }
      const storeTime = (await stat(path)).mtime;
      return new DirectoryLock(path, holder, heartbeatMs, storeTime);
    } catch (error) {
      if ((error as { code?: string }).code !== "EEXIST") throw ioError("create", path, error);
    }
    const current = await readHolderFile(path);
    if (current === "gone") continue;
    const stale =
      (current.holder !== undefined && deadOnThisHost(current.holder)) ||
      Date.now() - current.mtime.getTime() > staleMs ||
      // A lock file that is not ours to parse (crash before its body was written) and not fresh.
      (current.holder === undefined && Date.now() - current.mtime.getTime() > 5_000);
    if (!stale || attempt >= 3) throw lockedError(root, current.holder, path);
    await takeOver(path, current.holder?.token, staleMs);
  }
}

async function readHolderFile(
  path: string,
): Promise<{ holder: LockHolder | undefined; mtime: Date } | "gone"> {
  try {
    const [bytes, info] = await Promise.all([readFile(path), stat(path)]);
    return { holder: parseHolder(bytes), mtime: info.mtime };
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") return "gone";
    throw ioError("read", path, error);
  }
}

/** Removes the stale lock `token` under the takeover file; returns without removing anything else. */
async function takeOver(path: string, token: string | undefined, staleMs: number): Promise<void> {
  const guard = `${path}.takeover`;
  try {
    const handle = await open(guard, "wx", 0o644);
    await handle.close();
  } catch (error) {
    if ((error as { code?: string }).code !== "EEXIST") throw ioError("create", guard, error);
    // Another writer is taking over right now (milliseconds); its guard is stale only if it died doing so.
    const info = await stat(guard).catch(() => undefined);
    if (info && Date.now() - info.mtime.getTime() > Math.min(staleMs, 30_000))
      await unlink(guard).catch(() => undefined);
    return;
  }
  try {
    const again = await readHolderFile(path);
    if (again !== "gone" && again.holder?.token === token) {
      // Moved aside first so a reader of the name never sees a half-removed lock; then deleted.
      const aside = `${path}.stale-${randomBytes(6).toString("hex")}`;
      await rename(path, aside).catch(() => undefined);
      await unlink(aside).catch(() => undefined);
    }
  } finally {
    await unlink(guard).catch(() => undefined);
  }
}

class DirectoryLock implements RepoLock {
  private readonly timer: NodeJS.Timeout;
  private released = false;

  constructor(
    private readonly path: string,
    private readonly holder: LockHolder,
    heartbeatMs: number,
    readonly storeTime: Date,
  ) {
    this.timer = setInterval(() => {
      const now = new Date();
      utimes(this.path, now, now).catch(() => undefined); // a lost lock shows in assertHeld
    }, heartbeatMs);
    this.timer.unref();
  }

  async assertHeld(): Promise<void> {
    const current = await readHolderFile(this.path);
    if (current === "gone" || current.holder?.token !== this.holder.token) {
      throw lockedError(join(this.path, ".."), current === "gone" ? undefined : current.holder, this.path);
    }
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    // Only our own lock is removed: one taken over as stale belongs to its new holder.
    const current = await readHolderFile(this.path);
    if (current !== "gone" && current.holder?.token === this.holder.token)
      await unlink(this.path).catch((e: unknown) => {
        if ((e as { code?: string }).code !== "ENOENT") throw ioError("delete", this.path, e);
      });
  }
}
