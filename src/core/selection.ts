import { FerryError } from "./errors.js";
import type { FileEntry, Manifest } from "./manifest.js";

/**
 * What of a release an install holds (docs/PACKAGES.md): whole packages, plus single paths fetched on
 * demand outside them. Both lists sorted and unique.
 */
export interface Selection {
  readonly packages: readonly string[];
  readonly paths: readonly string[];
}

/** The packages installed when nobody asks for a subset: every non-optional one. */
export function defaultPackages(manifest: Manifest): string[] {
  return Object.keys(manifest.packages)
    .filter((name) => !manifest.packages[name]!.optional)
    .sort();
}

export function sortedUnique(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}

/** The manifest restricted to the selected files (same release, same packs: only `files` shrinks). */
export function restrict(manifest: Manifest, selection: Selection): Manifest {
  const packages = new Set(selection.packages);
  const paths = new Set(selection.paths);
  return { ...manifest, files: manifest.files.filter((f) => packages.has(f.package) || paths.has(f.path)) };
}

/** Refuses package names the release does not have, listing the ones it has. */
export function requireKnownPackages(manifest: Manifest, names: readonly string[]): void {
  for (const name of names) {
    if (!Object.hasOwn(manifest.packages, name)) {
      throw new FerryError(
        "E_USAGE",
        `Release ${manifest.version} has no package ${JSON.stringify(name)}; it has: ${Object.keys(manifest.packages).sort().join(", ")}.`,
        { package: name, version: manifest.version },
      );
    }
  }
}

/** Refuses paths the release does not list. */
export function requireKnownPaths(manifest: Manifest, paths: readonly string[]): FileEntry[] {
  const byPath = new Map(manifest.files.map((f) => [f.path, f]));
  return paths.map((path) => {
    const file = byPath.get(path);
    if (!file) {
      throw new FerryError(
        "E_USAGE",
        `Release ${manifest.version} has no file ${JSON.stringify(path)}; check the path (release paths use '/').`,
        { path, version: manifest.version },
      );
    }
    return file;
  });
}

export interface CarriedSelection {
  readonly selection: Selection;
  /** Installed packages the target release no longer has (their files are deleted like any removed file). */
  readonly droppedPackages: readonly string[];
  /** On-demand paths the target release no longer lists. */
  readonly droppedPaths: readonly string[];
}

/**
 * The selection an update installs. `requested` (an explicit --packages) replaces the package set.
 * Otherwise the installed set is kept: packages the target lacks are dropped (and reported); packages
 * new in the target (absent from the installed release) join when they are not optional, so a release
 * that moves core files into a new package still installs them. A fresh install takes the defaults.
 */
export function carrySelection(
  installed: Manifest | undefined,
  current: Selection | undefined,
  target: Manifest,
  requested?: readonly string[],
): CarriedSelection {
  const targetPaths = new Set(target.files.map((f) => f.path));
  const oldPaths = current?.paths ?? [];
  const paths = oldPaths.filter((p) => targetPaths.has(p));
  const droppedPaths = oldPaths.filter((p) => !targetPaths.has(p));
  if (requested) {
    requireKnownPackages(target, requested);
    return { selection: { packages: sortedUnique(requested), paths }, droppedPackages: [], droppedPaths };
  }
  if (!installed || !current) {
    return { selection: { packages: defaultPackages(target), paths }, droppedPackages: [], droppedPaths };
  }
  const kept = current.packages.filter((p) => Object.hasOwn(target.packages, p));
  const droppedPackages = current.packages.filter((p) => !Object.hasOwn(target.packages, p));
  const added = defaultPackages(target).filter((p) => !Object.hasOwn(installed.packages, p));
  const packages = sortedUnique([...kept, ...added]);
  return {
    selection: {
      packages,
      paths: sortedUnique([...paths, ...movedOut(installed, current, target, packages)]),
    },
    droppedPackages,
    droppedPaths,
  };
}

/**
 * Files the install holds that the target release moved into a package the install does not take (a
 * newly declared optional package, or an optional one not installed): they stay installed, as on-demand
 * paths (kept current by later updates, verified, and folded into the package when it is added), rather
 * than being deleted and downloaded again on `packages add` (docs/PACKAGES.md "Files moved into a package").
 */
function movedOut(
  installed: Manifest,
  current: Selection,
  target: Manifest,
  packages: readonly string[],
): string[] {
  const selected = new Set(current.packages);
  const selectedPaths = new Set(current.paths);
  const held = new Set(
    installed.files.filter((f) => selected.has(f.package) || selectedPaths.has(f.path)).map((f) => f.path),
  );
  const taken = new Set(packages);
  return target.files.filter((f) => !taken.has(f.package) && held.has(f.path)).map((f) => f.path);
}
