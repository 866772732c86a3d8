import { type FerryErrorCode, isFerryError } from "../../core/errors.js";
import type { FileSystem } from "../../ports/fs.js";
import type { Host } from "../../ports/host.js";
import { makeContext } from "../context.js";
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
}

/**
 * Ren'Py's can_update(): can this install be updated at all, and if not, why? Local and cheap (no
 * network, nothing changed): the install has Ferry state, its directory and `.ferry/` are writable, no
 * live updater holds the lock, and, when `runtime` is given, the installed release declares no other
 * runtime. A lock whose owner process is gone (same host) does not count: the next update takes it over.
 */
export async function canUpdate(options: CanUpdateOptions): Promise<CanUpdateResult> {
  const ctx = makeContext(options.installDir, options);
  const { fs, layout } = ctx;
  const reasons: CanUpdateReason[] = [];
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
      message: `${layout.root} has no Ferry install (no .ferry/state.json); it was not installed by Ferry.`,
    });
  }
  if (!(await fs.stat(layout.root))) return { ok: false, reasons, version };
  // .ferry/ is created by the first update; until then only the install directory must be writable.
  const dirs = (await fs.stat(layout.ferry)) ? [layout.root, layout.ferry] : [layout.root];
  for (const dir of dirs) {
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
  return { ok: reasons.length === 0, reasons, version };
}

/** A probe file created and removed in `dir`; a reason when that fails. */
async function notWritable(fs: FileSystem, host: Host, dir: string): Promise<CanUpdateReason | undefined> {
  const stat = await fs.stat(dir);
  if (stat === undefined) return { code: "E_IO", message: `${dir} does not exist.` };
  if (stat.kind !== "directory") return { code: "E_IO", message: `${dir} is not a directory.` };
  const probe = `${dir}/.ferry-write-probe-${host.pid}-${host.randomId(4)}`;
  try {
    if (!(await fs.createExclusive(probe, new Uint8Array()))) return undefined;
    await fs.unlink(probe);
    return undefined;
  } catch (error) {
    if (!isFerryError(error)) throw error;
    await fs.unlink(probe).catch(() => undefined);
    return {
      code: "E_IO",
      message: `${dir} is not writable (${error.message}). Run the game from a writable location or fix the permissions.`,
    };
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
