import type { Crypto } from "../../ports/crypto.js";
import type { Manifest } from "../../core/manifest.js";
import { restrict, type Selection } from "../../core/selection.js";
import type { FileSystem } from "../../ports/fs.js";
import { withoutBaseFiles } from "./overlay.js";
import type { InstallState } from "./state.js";

/** What an install holds of its release; a state from before packages existed holds all of it. */
export function installedSelection(state: InstallState, installed: Manifest): Selection {
  return {
    packages: state.packages ?? Object.keys(installed.packages).sort(),
    paths: state.paths ?? [],
  };
}

/**
 * The files the update folder must hold: the selection, minus files identical in the base directory.
 * Tracked (deletable) files are the whole selection (`restrict` alone), so a file that became identical
 * to the base is removed from the update folder.
 */
export function materialized(
  fs: FileSystem,
  manifest: Manifest,
  selection: Selection,
  base: string | undefined,
  crypto: Crypto,
): Promise<Manifest> {
  return withoutBaseFiles(fs, restrict(manifest, selection), base, crypto);
}

/** The state fields describing the selection, base and runtime (empty lists and unset values omitted). */
export function contentFields(
  selection: Selection,
  base: string | undefined,
  runtime: string | undefined,
): Pick<InstallState, "packages" | "paths" | "base" | "runtime"> {
  return {
    packages: selection.packages,
    ...(selection.paths.length > 0 ? { paths: selection.paths } : {}),
    ...(base === undefined ? {} : { base }),
    ...(runtime === undefined ? {} : { runtime }),
  };
}

/** `state` with its content fields replaced by `content` (a field absent from `content` is removed). */
export function withContent(
  state: InstallState,
  content: Pick<InstallState, "packages" | "paths" | "base" | "runtime">,
): InstallState {
  const rest: Record<string, unknown> = { ...state };
  for (const field of ["packages", "paths", "base", "runtime"]) delete rest[field];
  return { ...(rest as unknown as InstallState), ...content };
}
