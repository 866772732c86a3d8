import { type FerryErrorCode, isFerryError } from "../../core/errors.js";
import type { FileSystem } from "../../ports/fs.js";
import type { Host } from "../../ports/host.js";
import { makeContext } from "../context.js";
import { parentPath } from "../paths.js";
import type { InstallLayout } from "../install/layout.js";
import { readOwner } from "../install/lock.js";
import { readState } from "../install/read-state.js";
import { loadInstalledManifest } from "../plan/installed-release.js";

export interface CanUpdateOptions {
  readonly installDir: string;
  /** The runtime the running game provides; compared with the installed release's declared runtime. */
  readonly runtime?: string;
  readonly fs?: FileSystem;
}

export interface CanUpdateReason {
  readonly code: FerryErrorCode;
  readonly message: string;
}

export interface CanUpdateResult {
  readonly ok: boolean;
  /** Empty when ok; otherwise every reason found, in the order checked. */
  readonly reasons: readonly CanUpdateReason[];
  readonly version: string | null;
  /** No Ferry install here yet (no `.ferry/`): the answer is about a first install. */
  readonly firstInstall: boolean;
  /** For a first install, what it will meet in the directory; null for an existing install. */
  readonly directory: FirstInstallDirectory | null;
}

/** What a first install needs to know about its directory (canUpdate on a directory never installed). */
export interface FirstInstallDirectory {
  /** The directory exists; when it does not, the first update creates it (and missing parents). */
  readonly exists: boolean;
  /** The directory (or, when absent, its nearest existing parent) may be written by this process. */
  readonly writable: boolean;
  /** Absent or without entries. */
  readonly empty: boolean;
  /**
   * Entries already there (top level): a first install adopts them (files identical to the release are
   * kept, not downloaded; others the release needs are moved to `.ferry/displaced/`; the rest untouched).
   */
  readonly entries: number;
}

/**
 * Ren'Py's can_update(): can this install be updated at all, and if not, why? Local, cheap and read-only
 * (no network, no lock taken, nothing written when the file system can answer `writable`; one without it
 * is probed with a file created and removed): the install has Ferry state, its directory and `.ferry/`
 * are writable, no live updater holds the lock, and, when `runtime` is given, the installed release
 * declares no other runtime. A lock whose owner process is gone (same host) does not count: the next
 * update takes it over. A directory with no install yet answers for a first install (`firstInstall`,
 * `directory`): ok when the directory, or the parent it would be created in, is writable.
 */
export async function canUpdate(options: CanUpdateOptions): Promise<CanUpdateResult> {
  const ctx = makeContext(options.installDir, options);
  const { fs, layout } = ctx;
  const reasons: CanUpdateReason[] = [];
  const rootStat = await fs.stat(layout.root);
  if (rootStat && rootStat.kind !== "directory") {
    reasons.push({
      code: "E_NOT_WRITABLE",
      message: `${layout.root} is a ${rootStat.kind}, not a directory: Ferry installs into a directory. Choose another install directory, or move the ${rootStat.kind} away.`,
    });
    return { ok: false, reasons, version: null, firstInstall: true, directory: null };
  }
  if (!rootStat || !(await fs.stat(layout.ferry))) return firstInstall(ctx, rootStat !== undefined);
  let version: string | null = null;
  let state;
  try {
    state = await readState(ctx);
  } catch (error) {
    if (!isFerryError(error)) throw error;
    reasons.push({ code: error.code, message: error.message });
  }
  if (state === undefined && reasons.length === 0) {
    reasons.push({
      code: "E_NOT_INSTALLED",
      message: `${layout.root}/.ferry has no state.json: no release was installed by Ferry here (a first update was interrupted?). Run the update again.`,
    });
  }
  for (const dir of [layout.root, layout.ferry]) {
    const problem = await notWritable(fs, ctx.host, dir);
    if (problem) reasons.push(problem);
  }
  const holder = await lockHolder(fs, ctx.host, layout);
  if (holder) reasons.push(holder);
  if (state) {
    version = state.version;
    if (options.runtime !== undefined) {
      const manifest = await loadInstalledManifest(ctx, state).catch((error: unknown) => {
        if (!isFerryError(error)) throw error;
        reasons.push({ code: error.code, message: error.message });
        return undefined;
      });
      if (manifest?.runtime !== undefined && manifest.runtime !== options.runtime) {
        reasons.push({
          code: "E_RUNTIME",
          message: `The installed release ${state.version} needs runtime '${manifest.runtime}', but this game runs '${options.runtime}'. Install the game build for that runtime.`,
        });
      }
    }
  }
  return { ok: reasons.length === 0, reasons, version, firstInstall: false, directory: null };
}

async function firstInstall(ctx: ReturnType<typeof makeContext>, exists: boolean): Promise<CanUpdateResult> {
  const { fs, layout } = ctx;
  const reasons: CanUpdateReason[] = [];
  let target = layout.root;
  if (!exists) {
    // The first update creates the directory: the nearest existing parent must take it.
    for (;;) {
      const parent = parentPath(target);
      if (parent === target || parent === ".") break;
      target = parent;
      const stat = await fs.stat(target);
      if (stat?.kind === "directory") break;
      if (stat) {
        reasons.push({
          code: "E_NOT_WRITABLE",
          message: `${target} is a ${stat.kind}, not a directory, so ${layout.root} cannot be created in it. Choose another install directory.`,
        });
        break;
      }
    }
  }
  if (reasons.length === 0) {
    const problem = await notWritable(fs, ctx.host, target);
    if (problem) reasons.push(problem);
  }
  const entries = exists ? (await fs.readdir(layout.root)).length : 0;
  return {
    ok: reasons.length === 0,
    reasons,
    version: null,
    firstInstall: true,
    directory: { exists, writable: reasons.length === 0, empty: entries === 0, entries },
  };
}

/**
 * Why this process may not create files in `dir`, or undefined. Asks the file system (`writable`: access
 * W_OK, nothing written); one without that method is probed with a file created and removed.
 */
async function notWritable(fs: FileSystem, host: Host, dir: string): Promise<CanUpdateReason | undefined> {
  const stat = await fs.stat(dir);
  if (stat === undefined) return { code: "E_IO", message: `${dir} does not exist.` };
  if (stat.kind !== "directory")
    return { code: "E_NOT_WRITABLE", message: `${dir} is a ${stat.kind}, not a directory.` };
  const advice = "Run the game from a writable location or fix the permissions.";
  if (fs.writable) {
    const cause = await fs.writable(dir);
    if (cause === undefined) return undefined;
    return {
      code: "E_NOT_WRITABLE",
      message: `${dir} is not writable (${cause === "EROFS" ? "read-only file system" : cause}). ${advice}`,
    };
  }
  const probe = `${dir}/.ferry-write-probe-${host.pid}-${host.randomId(4)}`;
  try {
    if (!(await fs.createExclusive(probe, new Uint8Array()))) return undefined;
    await fs.unlink(probe);
    return undefined;
  } catch (error) {
    if (!isFerryError(error)) throw error;
    await fs.unlink(probe).catch(() => undefined);
    return { code: "E_NOT_WRITABLE", message: `${dir} is not writable (${error.message}). ${advice}` };
  }
}

async function lockHolder(
  fs: FileSystem,
  host: Host,
  layout: InstallLayout,
): Promise<CanUpdateReason | undefined> {
  if (!(await fs.stat(layout.lock))) return undefined;
  const owner = await readOwner(fs, layout.lock);
  if (owner && owner.host === host.hostname() && owner.pid !== host.pid && !host.processAlive(owner.pid)) {
    return undefined; // stale: the next updater takes it over
  }
  return {
    code: "E_LOCKED",
    message: `${layout.root} is being updated by another process (pid ${owner?.pid ?? "?"} on ${owner?.host ?? "?"}).`,
  };
}
