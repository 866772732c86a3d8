import type { Manifest } from "../../core/manifest.js";
import type { ManifestRef } from "../../core/pointer.js";
import { restrict, type Selection } from "../../core/selection.js";
import { MAX_RELEASE_FILES } from "../../core/tree.js";
import { diffTrees, treeObjects } from "../../core/tree-diff.js";
import { isTreeHeader, readTreeHeader } from "../../core/tree-read.js";
import { installedSelection } from "../install/content.js";
import type { Context } from "../context.js";
import { bundleObjects } from "../remote/metadata-bundle.js";
import { objectLoader } from "../remote/release.js";
import { decodeManifestJson, type RemoteRepository } from "../remote/remote.js";
import type { InstallState } from "../install/state.js";

/**
 * Installs of at least this many files are updated incrementally unless told otherwise: at 100,000
 * files a full pass (every file stat-ed, both releases built in memory) took 31 s and 483 MiB for a
 * check that found one change (docs/BENCHMARKS.md, scale).
 */
export const INCREMENTAL_MIN_FILES = 10_000;

/**
 * What an update verifies on disk: "all" files of the install (restoring any damaged one), or only
 * the files the update "changed" (a tree diff; untouched files are trusted as installed, and
 * `ferry repair` verifies them). "auto": "changed" for tree releases of INCREMENTAL_MIN_FILES files
 * or more, else "all".
 */
export type VerifyMode = "auto" | "all" | "changed";

export interface IncrementalRelease {
  readonly manifestBytes: Uint8Array;
  /** The new release's files at the paths that differ from the installed release, selection applied. */
  readonly target: Manifest;
  /** The installed release's files at those paths, selection applied. */
  readonly tracked: Manifest;
  readonly selection: Selection;
  /** Every object of the new release, read from kept objects (for cleanup after the commit). */
  readonly objects: () => Promise<ReadonlySet<string>>;
}

export interface IncrementalOptions {
  readonly verify?: VerifyMode | undefined;
  readonly force?: boolean | undefined;
  readonly base?: string | undefined;
  readonly packages?: readonly string[] | undefined;
}

/**
 * The update as a diff of the installed and the new tree release, or why not: `undefined`, or the new
 * release's manifest bytes when they were fetched before the diff turned out not to apply (so the
 * full path does not fetch them twice). The diff applies to tree releases on both sides with the same
 * packages, no base overlay, no extra paths, no forced reinstall.
 */
export async function prepareIncremental(
  ctx: Context,
  options: IncrementalOptions,
  state: InstallState,
  installed: { readonly bytes: Uint8Array; readonly where: string },
  repo: RemoteRepository,
  ref: ManifestRef,
): Promise<{ release: IncrementalRelease } | { manifestBytes: Uint8Array } | undefined> {
  const verify = options.verify ?? "auto";
  if (verify === "all" || options.force) return undefined;
  if (options.base !== undefined || state.base !== undefined || options.packages !== undefined)
    return undefined;
  if ((state.paths ?? []).length > 0) return undefined;
  const oldDocument = `release manifest ${installed.where}`;
  const oldJson = await decodeManifestJson(ctx, installed.bytes, state.manifest, installed.where);
  if (!isTreeHeader(oldJson)) return undefined;
  if (verify === "auto" && readTreeHeader(oldJson, oldDocument).files < INCREMENTAL_MIN_FILES)
    return undefined;

  const same = ref.hash === state.manifest.hash;
  const where = repo.url(`manifests/${ref.hash}`);
  const manifestBytes = same ? installed.bytes : await repo.manifestBytes(ref, ctx.signal);
  const newJson = same ? oldJson : await decodeManifestJson(ctx, manifestBytes, ref, where);
  if (!isTreeHeader(newJson) || packageNames(newJson) !== packageNames(oldJson)) return { manifestBytes };

  const newDocument = `release manifest ${where}`;
  // The new release's metadata bundle for the installed one, when listed, supplies the changed objects.
  const primed = same ? undefined : await bundleObjects(ctx, newJson, newDocument, state.manifest.hash, repo);
  const load = objectLoader(ctx, repo, primed);
  const diff = await diffTrees(
    { json: oldJson, document: oldDocument },
    { json: newJson, document: newDocument },
    load,
    {
      maxFiles: MAX_RELEASE_FILES,
      ...(same ? {} : { deltasFrom: state.manifest.hash }),
    },
  );
  const selection = installedSelection(state, diff.installed);
  return {
    release: {
      manifestBytes,
      target: restrict(diff.target, selection),
      tracked: restrict(diff.installed, selection),
      selection,
      objects: () => treeObjects(newJson, newDocument, load, MAX_RELEASE_FILES),
    },
  };
}

/** The release's package names, comparable as a string; "" when the field is not an object (validated later). */
function packageNames(json: unknown): string {
  const packages = (json as { packages?: unknown }).packages;
  if (typeof packages !== "object" || packages === null) return "";
  return JSON.stringify(Object.keys(packages).sort());
}
