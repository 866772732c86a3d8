import { FerryError } from "../../core/errors.js";
import { requireKnownPackages, sortedUnique } from "../../core/selection.js";
import { type ClientDeps, type InstallOptions, makeContext } from "../context.js";
import { readInstall, withInstall } from "../apply/with-install.js";
import { installedSelection } from "../install/content.js";
import { requireInstallDir } from "./inspect.js";
import { type ReselectOptions, type ReselectResult, reselect } from "./reselect.js";
import { requireState } from "../install/read-state.js";
import { loadInstalledManifest } from "../plan/installed-release.js";

export interface PackageInfo {
  readonly name: string;
  readonly optional: boolean;
  readonly installed: boolean;
  readonly files: number;
  readonly bytes: number;
}

/** The installed release's packages and which of them this install holds. Reads only local state. */
export async function listPackages(options: InstallOptions): Promise<PackageInfo[]> {
  const { installDir, ...deps } = options;
  const ctx = makeContext(installDir, deps);
  await requireInstallDir(ctx);
  // Read-only: no lock, so a launcher can list packages while an update runs (readInstall).
  return readInstall(ctx, deps, async () => {
    const state = await requireState(ctx);
    const manifest = await loadInstalledManifest(ctx, state);
    const installed = new Set(installedSelection(state, manifest).packages);
    return Object.keys(manifest.packages)
      .sort()
      .map((name) => {
        const files = manifest.files.filter((f) => f.package === name);
        return {
          name,
          optional: manifest.packages[name]!.optional,
          installed: installed.has(name),
          files: files.length,
          bytes: files.reduce((sum, f) => sum + f.size, 0),
        };
      });
  });
}

export interface ChangePackagesOptions extends ClientDeps, ReselectOptions {
  readonly installDir: string;
  readonly add?: readonly string[];
  readonly remove?: readonly string[];
}

/**
 * Adds and/or removes packages of the installed release, through the verified, journaled commit of an
 * update: added packages' files are downloaded and verified, removed packages' files deleted, nothing
 * else is written. The new set is kept by later updates.
 */
export async function changePackages(options: ChangePackagesOptions): Promise<ReselectResult> {
  const add = options.add ?? [];
  const remove = options.remove ?? [];
  const both = add.filter((p) => remove.includes(p));
  if (both.length > 0)
    throw new FerryError("E_USAGE", `Package ${JSON.stringify(both[0])} is both added and removed.`, {
      package: both[0],
    });
  const ctx = makeContext(options.installDir, options);
  await requireInstallDir(ctx);
  return withInstall(ctx, options, () =>
    reselect(ctx, options, (current, manifest) => {
      requireKnownPackages(manifest, [...add, ...remove]);
      const packages = sortedUnique([...current.packages, ...add]).filter((p) => !remove.includes(p));
      // Paths fetched on demand inside a removed package go with it.
      const removed = new Set(remove);
      const paths = current.paths.filter((path) => {
        const file = manifest.files.find((f) => f.path === path);
        return file !== undefined && !removed.has(file.package) && !packages.includes(file.package);
      });
      return { packages, paths };
    }),
  );
}
