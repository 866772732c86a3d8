import { FerryError } from "../../core/errors.js";
import { type InstallState, readStoredState } from "./state.js";
import { type StateAccess, withStatFiles } from "./stat-cache.js";

/** The install state with its stat cache in `files`, wherever it is kept (the form every reader expects). */
export async function readState(access: StateAccess): Promise<InstallState | undefined> {
  const stored = await readStoredState(access.fs, access.layout);
  return stored ? withStatFiles(access, stored) : undefined;
}

export async function requireState(access: StateAccess): Promise<InstallState> {
  const { layout } = access;
  const state = await readState(access);
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
