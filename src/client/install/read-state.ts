import { FerryError } from "../../core/errors.js";
import type { FileSystem } from "../../ports/fs.js";
import type { InstallLayout } from "./layout.js";
import { type InstallState, readStoredState } from "./state.js";
import { withStatFiles } from "./stat-cache.js";

/** The install state with its stat cache in `files`, wherever it is kept (the form every reader expects). */
export async function readState(fs: FileSystem, layout: InstallLayout): Promise<InstallState | undefined> {
  const stored = await readStoredState(fs, layout);
  return stored ? withStatFiles(fs, layout, stored) : undefined;
}

export async function requireState(fs: FileSystem, layout: InstallLayout): Promise<InstallState> {
  const state = await readState(fs, layout);
  if (!state) {
    throw new FerryError(
      "E_NOT_INSTALLED",
      `${layout.root} has no Ferry install (no .ferry/state.json). Run 'ferry update <repo-url> ${layout.root} --trust <key>' to install.`,
      {
        path: layout.root,
      },
    );
  }
  return state;
}
