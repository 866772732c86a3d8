import type { Host } from "../../ports/host.js";
import type { FileSystem } from "../../ports/fs.js";
import type { InstallLayout } from "../install/layout.js";
import type { LocalIndex } from "../plan/local-index.js";

/** The paths the installed release tracks, among those a local index looked at. */
export function trackedPaths(local: Pick<LocalIndex, "files">): Set<string> {
  return new Set(local.files.filter((f) => f.tracked).map((f) => f.path));
}

/**
 * Untracked files (a player's saves, configs, mods: files the installed release does not track) at
 * paths a commit writes. They are never destroyed: the commit moves each to
 * `.ferry/displaced/<dir>/<path>` (docs/FORMAT.md §7), which Ferry never removes.
 */
export interface Displacement {
  /** One directory per commit: `<UTC time>-<random>`, so two commits never mix their files. */
  readonly dir: string;
  readonly paths: readonly string[];
}

export const DISPLACED_DIR = /^\d{8}T\d{6}Z-[0-9a-f]{8}$/;

export function displacementDir(now: Date, host: Host): string {
  const time = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return `${time}-${host.randomId(4)}`;
}

/**
 * The paths among `written` where something the installed release does not track exists now: an
 * untracked file, or a link (releases hold no links). A tracked file is the release's, replaced as usual.
 */
export async function untrackedAt(
  fs: FileSystem,
  layout: InstallLayout,
  written: readonly string[],
  tracked: ReadonlySet<string>,
): Promise<string[]> {
  const out: string[] = [];
  for (const path of written) {
    if (tracked.has(path)) continue;
    const stat = await fs.stat(layout.file(path));
    if (stat?.kind === "file" || stat?.kind === "symlink") out.push(path);
  }
  return out;
}
