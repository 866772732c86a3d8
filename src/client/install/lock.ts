import { FerryError, isFerryError } from "../../core/errors.js";
import type { Clock } from "../../ports/clock.js";
import type { FileSystem } from "../../ports/fs.js";
import type { Host } from "../../ports/host.js";
import { defaultDeps } from "../defaults.js";
import { joinPath } from "../paths.js";
import { assertFerryRoot } from "./ferry-dir.js";
import type { InstallLayout } from "./layout.js";

export interface LockOptions {
  /** How long to wait for another updater to finish (default 0: fail at once with E_LOCKED). */
  readonly waitMs?: number;
  /** This process's identity, for the lock file and stale-owner checks (default: the registered host). */
  readonly host?: Host;
}

/** Locks this process failed to release: they name this pid but no updater holds them. */
const orphaned = new Set<string>();

/** A lock file nobody could parse for this long was left by a crash between its creation and its write. */
const UNREADABLE_STALE_MS = 10_000;

/**
 * One updater per install: `.ferry/lock` is created with O_EXCL. Stale locks are taken over: one whose
 * owner process is gone (same host, pid not alive), one this process failed to release, and one left
 * empty or unreadable for UNREADABLE_STALE_MS. Other waiters poll
 * every 100 ms up to `waitMs`, then fail with E_LOCKED.
 */
export async function acquireLock(
  fs: FileSystem,
  layout: InstallLayout,
  clock: Clock,
  options: LockOptions = {},
): Promise<() => Promise<void>> {
  await assertFerryRoot(fs, layout); // a linked .ferry would put the lock (and all else) outside
  await fs.mkdirp(layout.ferry);
  const host = options.host ?? defaultDeps().host;
  const deadline = clock.now().getTime() + (options.waitMs ?? 0);
  const me = new TextEncoder().encode(
    JSON.stringify({ pid: host.pid, host: host.hostname(), started: clock.now().toISOString() }),
  );
  let reclaimed = false;
  while (true) {
    let created: boolean;
    try {
      created = await fs.createExclusive(layout.lock, me);
    } catch (error) {
      // A volume filled up by a failed update's downloads: Ferry's own leftovers go, then one more try.
      if (!isVolumeFull(error) || (await fs.stat(layout.lock))) throw error;
      if (reclaimed) throw volumeFull(layout, error);
      await reclaimLeftovers(fs, layout);
      reclaimed = true;
      continue;
    }
    if (created) {
      orphaned.delete(layout.lock);
      return async () => {
        let current: Uint8Array;
        try {
          current = await fs.readFile(layout.lock);
        } catch {
          // Gone (taken over) or unreadable: if it is still ours, the next acquire here takes it over.
          orphaned.add(layout.lock);
          return;
        }
        // Release only a lock that is still ours: never remove another updater's lock.
        if (!Buffer.from(current).equals(Buffer.from(me))) return;
        try {
          await fs.unlink(layout.lock);
        } catch (error) {
          orphaned.add(layout.lock);
          throw error;
        }
      };
    }
    const owner = await readOwner(fs, layout.lock);
    const stale =
      owner?.host === host.hostname() &&
      (owner.pid === host.pid ? orphaned.has(layout.lock) : !host.processAlive(owner.pid));
    if (owner && stale) {
      await takeOverStale(fs, layout, host, (moved) => moved?.pid === owner.pid && moved.host === owner.host);
      continue;
    }
    if (!owner) {
      const stat = await fs.stat(layout.lock);
      if (stat && clock.now().getTime() - stat.mtimeMs > UNREADABLE_STALE_MS) {
        await takeOverStale(fs, layout, host, (moved) => moved === undefined);
        continue;
      }
    }
    if (clock.now().getTime() >= deadline) {
      throw new FerryError(
        "E_LOCKED",
        `${layout.root} is being updated by another process (pid ${owner?.pid ?? "?"} on ${owner?.host ?? "?"}). Wait for it to finish; if no updater is running, delete ${layout.lock}.`,
        { path: layout.lock, pid: owner?.pid ?? null },
      );
    }
    await clock.sleep(100);
  }
}

function isVolumeFull(error: unknown): boolean {
  const code = isFerryError(error) ? error.data.systemCode : (error as { code?: unknown } | null)?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}

function volumeFull(layout: InstallLayout, cause: unknown): FerryError {
  return new FerryError(
    "E_NO_SPACE",
    `The volume holding ${layout.root} is full (no free space or no free inodes): Ferry removed its own leftover downloads and temp files and still cannot create ${layout.lock}. Free space on that volume and run the command again; the install was not changed.`,
    { path: layout.lock },
    { cause },
  );
}

/**
 * What Ferry owns and can always rebuild, removed when not even the lock can be created: staged chunks
 * (re-verified before any use, downloaded again when missing), temp files, and
 * staged files when no commit (journal) or staged update (pending) names them. Runs without the lock,
 * but only when no lock file exists: no updater is using them.
 */
async function reclaimLeftovers(fs: FileSystem, layout: InstallLayout): Promise<void> {
  await fs.removeTree(layout.stagedChunks);
  if (!(await fs.stat(layout.journal)) && !(await fs.stat(layout.pending))) {
    await fs.removeTree(layout.stagedFiles);
  }
  const leftover = /\.tmp-[0-9a-f]+$/; // not lock temps: a contender's may be in flight
  for (const dir of [layout.ferry, layout.manifests, layout.objects, layout.stats]) {
    for (const name of await fs.readdir(dir)) {
      if (leftover.test(name) && (await fs.stat(joinPath(dir, name)))?.kind === "file")
        await fs.unlink(joinPath(dir, name));
    }
  }
}

/**
 * Moves a stale lock aside under a unique name, then checks that what was moved is the stale one:
 * a rename is atomic, so two waiters cannot both remove it, and a fresh lock taken in between is put
 * back instead of being lost.
 */
async function takeOverStale(
  fs: FileSystem,
  layout: InstallLayout,
  host: Host,
  stillStale: (moved: { pid: number; host: string } | undefined) => boolean,
): Promise<void> {
  const aside = `${layout.lock}.stale-${host.pid}-${host.randomId(4)}`;
  try {
    await fs.rename(layout.lock, aside);
  } catch {
    return; // someone else moved it first
  }
  if (stillStale(await readOwner(fs, aside))) {
    await fs.unlink(aside);
    return;
  }
  // We moved a live updater's fresh lock: restore it unless yet another lock appeared meanwhile.
  if (!(await fs.stat(layout.lock))) await fs.rename(aside, layout.lock);
  else await fs.unlink(aside);
}

export async function readOwner(
  fs: FileSystem,
  path: string,
): Promise<{ pid: number; host: string } | undefined> {
  try {
    const owner = JSON.parse(new TextDecoder().decode(await fs.readFile(path))) as {
      pid?: unknown;
      host?: unknown;
    };
    return typeof owner.pid === "number" && typeof owner.host === "string"
      ? { pid: owner.pid, host: owner.host }
      : undefined;
  } catch {
    // A lock file being written this instant, or removed: treat as held by an unknown owner.
    return undefined;
  }
}
