import { dirname } from "node:path";
import { canonicalJson } from "../core/canonical-json.js";
import { FerryError } from "../core/errors.js";
import { checkFormatHeader, JsonReader, parseJson } from "../core/json-reader.js";
import { assertSafePath } from "../core/paths.js";
import type { FileSystem } from "../ports/fs.js";
import type { InstallLayout } from "./layout.js";
import { encodeState, type InstallState, parseState, stateToJson } from "./state.js";

/** `.ferry/journal.json`: the complete description of a commit, docs/FORMAT.md §7. */
export interface Journal {
  /** [staged file name, release path, executable] */
  readonly moves: readonly (readonly [string, string, boolean])[];
  readonly deletes: readonly string[];
  readonly state: InstallState;
}

export async function writeJournal(fs: FileSystem, layout: InstallLayout, journal: Journal): Promise<void> {
  const json = {
    format: 1,
    type: "ferry-journal",
    moves: journal.moves,
    deletes: journal.deletes,
    state: stateToJson(journal.state),
  };
  await fs.writeFileAtomic(layout.journal, new TextEncoder().encode(canonicalJson(json)));
}

function parseJournal(json: unknown, document: string): Journal {
  const r = new JsonReader(document, json);
  checkFormatHeader(r, "ferry-journal");
  const moves = r.array("moves").map((m) => {
    const [name, path, executable] = m as [unknown, unknown, unknown];
    if (
      typeof name !== "string" ||
      !/^\d+$/.test(name) ||
      typeof path !== "string" ||
      typeof executable !== "boolean"
    ) {
      throw new FerryError("E_FORMAT", `${document} has a malformed move entry.`, { document });
    }
    assertSafePath(path, document);
    return [name, path, executable] as const;
  });
  const deletes = r.array("deletes").map((p) => {
    if (typeof p !== "string")
      throw new FerryError("E_FORMAT", `${document} has a malformed delete entry.`, { document });
    assertSafePath(p, document);
    return p;
  });
  return { moves, deletes, state: parseState((json as { state: unknown }).state, `${document} state`) };
}

/** Refuses to write through a symlinked directory inside the install (it could point anywhere). */
async function assertNoSymlinkParents(
  fs: FileSystem,
  layout: InstallLayout,
  path: string,
  checked: Set<string>,
): Promise<void> {
  const segments = path.split("/");
  for (let i = 1; i < segments.length; i++) {
    const dir = segments.slice(0, i).join("/");
    if (checked.has(dir)) continue;
    const stat = await fs.stat(layout.file(dir));
    // Deletes run first, so a file the old release had where a directory is now needed is already gone.
    if (stat && stat.kind !== "directory") {
      throw new FerryError(
        "E_UNSAFE_PATH",
        `Cannot write ${path}: ${layout.file(dir)} is a ${stat.kind}, not a directory. Ferry never writes through links; remove it and run the update again.`,
        {
          path,
          blocker: layout.file(dir),
        },
      );
    }
    checked.add(dir);
  }
}

/**
 * Performs (or finishes) a journaled commit. Idempotent: every step may already have happened, because
 * a previous run may have died anywhere in here. A missing staged file means its move already happened.
 */
export async function applyJournal(fs: FileSystem, layout: InstallLayout, journal: Journal): Promise<void> {
  const touchedDirs = new Set<string>();
  for (const path of journal.deletes) {
    const native = layout.file(path);
    const stat = await fs.stat(native);
    if (stat && stat.kind !== "directory") await fs.unlink(native);
    touchedDirs.add(dirname(native));
  }
  // Remove directories the deletes left empty, deepest first, never above the install root.
  const dirs = [...touchedDirs].sort((a, b) => b.length - a.length);
  for (let dir of dirs) {
    while (dir.length > layout.root.length && dir.startsWith(layout.root)) {
      if (!(await fs.rmdirIfEmpty(dir))) break;
      dir = dirname(dir);
    }
  }
  const checked = new Set<string>();
  const syncDirs = new Set<string>();
  for (const [name, path, executable] of journal.moves) {
    const staged = layout.stagedFile(name);
    const stat = await fs.stat(staged);
    if (!stat) continue;
    await assertNoSymlinkParents(fs, layout, path, checked);
    const target = layout.file(path);
    await fs.mkdirp(dirname(target));
    await fs.chmod(staged, executable ? 0o755 : 0o644);
    const existing = await fs.stat(target);
    if (existing?.kind === "directory" || existing?.kind === "symlink") {
      throw new FerryError(
        "E_UNSAFE_PATH",
        `Cannot replace ${target}: it is a ${existing.kind}. Remove it and run the update again.`,
        { path },
      );
    }
    await fs.rename(staged, target);
    syncDirs.add(dirname(target));
  }
  for (const dir of syncDirs) await fs.fsyncDir(dir);
  await fs.writeFileAtomic(layout.state, encodeState(journal.state));
  await fs.unlink(layout.journal);
  await fs.fsyncDir(layout.ferry);
}

/** Recovery on open: rolls an interrupted commit forward. Returns true when it did. */
export async function recover(fs: FileSystem, layout: InstallLayout): Promise<boolean> {
  if (!(await fs.stat(layout.journal))) return false;
  const journal = parseJournal(parseJson(layout.journal, await fs.readFile(layout.journal)), layout.journal);
  await applyJournal(fs, layout, journal);
  await fs.removeTree(layout.stagedFiles);
  return true;
}
