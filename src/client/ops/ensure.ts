import { linkProblem } from "../plan/links.js";
import type { FileEntry } from "../../core/manifest.js";
import { defaultDeps } from "../defaults.js";
import { requireKnownPackages, requireKnownPaths, sortedUnique } from "../../core/selection.js";
import { Coalescer, SerialQueue } from "../remote/coalesce.js";
import { type ClientDeps, makeContext } from "../context.js";
import { withInstall } from "../apply/with-install.js";
import { installedSelection } from "../install/content.js";
import { requireInstallDir } from "./inspect.js";
import { hashFile, statMatches } from "../plan/local-index.js";
import { withoutBaseFiles } from "../install/overlay.js";
import { type ReselectOptions, type ReselectResult, reselect } from "./reselect.js";
import { requireState } from "../install/read-state.js";
import { loadInstalledManifest } from "../plan/installed-release.js";

/** Content of the installed release, by package and/or path (both empty: everything the install holds). */
export interface ContentRequest {
  readonly packages?: readonly string[];
  readonly paths?: readonly string[];
}

export interface MissingFile {
  readonly path: string;
  readonly package: string;
  readonly size: number;
}

export interface MissingResult {
  readonly version: string;
  readonly files: readonly MissingFile[];
  readonly bytes: number;
}

/**
 * Which requested files of the installed release are not on disk with their exact content (files the
 * base directory holds identically count as present). Offline and read-only: no lock, no network; a file
 * whose stat no longer matches the stat cache is re-hashed.
 */
export async function missing(
  options: ContentRequest & Pick<ClientDeps, "fs"> & { readonly installDir: string },
): Promise<MissingResult> {
  const ctx = makeContext(options.installDir, options);
  await requireInstallDir(ctx);
  const state = await requireState(ctx);
  const manifest = await loadInstalledManifest(ctx, state);
  const wanted = requested(manifest, options) ?? installedSelection(state, manifest);
  const packages = new Set(wanted.packages);
  const paths = new Set(wanted.paths);
  const installed = installedSelection(state, manifest);
  const tracked = new Set(installed.packages);
  const trackedPaths = new Set(installed.paths);
  const candidates = await withoutBaseFiles(
    ctx.fs,
    { ...manifest, files: manifest.files.filter((f) => packages.has(f.package) || paths.has(f.path)) },
    state.base,
    ctx.crypto,
  );
  const out: MissingFile[] = [];
  for (const file of candidates.files) {
    const native = ctx.layout.file(file.path);
    const stat = await ctx.fs.stat(native);
    let present = false;
    if (file.link !== undefined) present = (await linkProblem(ctx.fs, native, file)) === undefined;
    else if (stat?.kind === "file" && stat.size === file.size) {
      const cached =
        tracked.has(file.package) || trackedPaths.has(file.path) ? state.files[file.path] : undefined;
      present =
        statMatches(stat, cached) ||
        (await hashFile(ctx.fs, native, manifest.chunking, ctx.crypto)).sha256 === file.sha256;
    }
    if (!present) out.push({ path: file.path, package: file.package, size: file.size });
  }
  return { version: state.version, files: out, bytes: out.reduce((sum, f) => sum + f.size, 0) };
}

/** Validated, sorted request; undefined when nothing was named. */
function requested(
  manifest: Parameters<typeof requireKnownPackages>[0],
  request: ContentRequest,
): { packages: string[]; paths: string[]; files: FileEntry[] } | undefined {
  const packages = sortedUnique(request.packages ?? []);
  const paths = sortedUnique(request.paths ?? []);
  if (packages.length === 0 && paths.length === 0) return undefined;
  requireKnownPackages(manifest, packages);
  return { packages, paths, files: requireKnownPaths(manifest, paths) };
}

export interface EnsureOptions extends ClientDeps, ReselectOptions, ContentRequest {
  readonly installDir: string;
}

const flights = new Coalescer<ReselectResult>();
const queue = new SerialQueue();

/**
 * Fetches exactly the requested content of the installed release that is missing (Defold's excluded
 * resources), with the verification, staging and journaled commit of an update. Requested packages join
 * the installed set; requested paths outside it are remembered too, so later updates keep them current.
 * Concurrent calls in this process for the same content share one operation (one set of downloads);
 * calls on one install run one after another. Cancelling (signal) stops that caller's wait; the shared
 * work is aborted when no caller waits any more, leaving the install as it was before the commit.
 */
export function ensure(options: EnsureOptions): Promise<ReselectResult> {
  const installDir = (options.host ?? defaultDeps().host).absolutePath(options.installDir);
  const key = JSON.stringify([
    installDir,
    sortedUnique(options.packages ?? []),
    sortedUnique(options.paths ?? []),
  ]);
  return flights.run(key, options.signal, options.onEvent, (signal, emit) =>
    queue.run(installDir, async () => {
      const deps = { ...options, signal, onEvent: emit };
      const ctx = makeContext(installDir, deps);
      await requireInstallDir(ctx);
      return withInstall(ctx, deps, () =>
        reselect(ctx, options, (current, manifest) => {
          const request = requested(manifest, options) ?? { packages: [], paths: [], files: [] };
          const packages = sortedUnique([...current.packages, ...request.packages]);
          const extra = request.files.filter((f) => !packages.includes(f.package)).map((f) => f.path);
          return { packages, paths: sortedUnique([...current.paths, ...extra]) };
        }),
      );
    }),
  );
}
