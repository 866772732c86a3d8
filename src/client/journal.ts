import { dirname, join } from "node:path";
import { canonicalJson } from "../core/canonical-json.js";
import { FerryError } from "../core/errors.js";
import { checkFormatHeader, JsonReader, parseJson } from "../core/json-reader.js";
import { assertSafePath, collisionKey } from "../core/paths.js";
import type { FileSystem } from "../ports/fs.js";
import type { InstallLayout } from "./layout.js";
import { parseRollbackRecord, recordRollback, type RollbackRecord } from "./rollback-record.js";
import { encodeState, type InstallState, parseState, stateToJson } from "./state.js";

/** `.ferry/journal.json`: the complete description of a commit, docs/FORMAT.md §7. */
export interface Journal {
  /** [staged file name, release path, executable] */
  readonly moves: readonly (readonly [string, string, boolean])[];
  readonly deletes: readonly string[];
  readonly state: InstallState;
  /**
   * Keep the release being replaced (docs/ROLLBACK.md): files the commit replaces or deletes are moved
   * into `previous/<hash>/files/` (`m<name>` for a move's target, `d<index>` for a delete), not removed.
   */
  readonly previous?: string;
  /** The moves' files come from `previous/<hash>/files/` instead of `staging/files/` (a rollback). */
  readonly source?: string;
  /** A rollback's reason: logged (and the release blocked) inside the commit, so a crash cannot lose it. */
  readonly rollback?: RollbackRecord;
}

const HASH = /^[0-9a-f]{64}$/;

/** Name under `previous/<hash>/files/` of what a move replaces, and of a deleted file. */
export const savedMoveName = (name: string): string => `m${name}`;
export const savedDeleteName = (index: number): string => `d${index}`;

export async function writeJournal(fs: FileSystem, layout: InstallLayout, journal: Journal): Promise<void> {
  const json = {
    format: 1,
    type: "ferry-journal",
    moves: journal.moves,
    deletes: journal.deletes,
    state: stateToJson(journal.state),
    ...(journal.previous === undefined ? {} : { previous: journal.previous }),
    ...(journal.source === undefined ? {} : { source: journal.source }),
    ...(journal.rollback === undefined ? {} : { rollback: journal.rollback }),
  };
  await fs.writeFileAtomic(layout.journal, new TextEncoder().encode(canonicalJson(json)));
}

/** The `moves` and `deletes` of a journal (or a pending journal): every path checked. */
export function parseMovesAndDeletes(
  r: JsonReader,
  document: string,
  names: RegExp,
): Pick<Journal, "moves" | "deletes"> {
  const moves = r.array("moves").map((m) => {
    const [name, path, executable] = m as [unknown, unknown, unknown];
    if (
      typeof name !== "string" ||
      !names.test(name) ||
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
  return { moves, deletes };
}

function parseJournal(json: unknown, document: string): Journal {
  const r = new JsonReader(document, json);
  checkFormatHeader(r, "ferry-journal");
  // Staging names are decimal; a rollback's come from previous/<hash>/files/ (m<n>, d<i>).
  const { moves, deletes } = parseMovesAndDeletes(r, document, /^[md]?\d+$/);
  const optionalHash = (field: string) => (r.has(field) ? { [field]: r.string(field, HASH) } : {});
  return {
    moves,
    deletes,
    state: parseState((json as { state: unknown }).state, `${document} state`),
    ...optionalHash("previous"),
    ...optionalHash("source"),
    ...(r.has("rollback") ? { rollback: parseRollbackRecord(r.object("rollback")) } : {}),
  };
}

function unsafe(path: string, blocker: string, why: string): FerryError {
  return new FerryError(
    "E_UNSAFE_PATH",
    `Cannot update ${path}: ${blocker} ${why}. Ferry never writes through links or over files it does not track; move it away and run the update again.`,
    { path, blocker },
  );
}

/** Refuses to touch a path whose parent inside the install is a symlink (it could point anywhere). */
async function assertRealParents(
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
    if (!stat) return; // nothing deeper exists either
    if (stat.kind !== "directory") throw unsafe(path, layout.file(dir), `is a ${stat.kind}, not a directory`);
    checked.add(dir);
  }
}

/** Every file below a directory, as release paths (for the "directory becomes a file" case). */
async function filesBelow(fs: FileSystem, layout: InstallLayout, dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of await fs.readdir(layout.file(dir))) {
    const path = `${dir}/${name}`;
    const stat = await fs.stat(layout.file(path));
    if (stat?.kind === "directory") out.push(...(await filesBelow(fs, layout, path)));
    else out.push(path);
  }
  return out;
}

/**
 * Checked before the journal is written, while the install is still the old release: every move can
 * happen (no symlinked parent, no untracked file where a directory is needed, no directory that keeps
 * files where a file is needed) and no delete goes through a link. After the journal, a commit must not
 * meet an obstacle it cannot pass.
 */
export async function preflightCommit(
  fs: FileSystem,
  layout: InstallLayout,
  moves: Journal["moves"],
  deletes: readonly string[],
): Promise<void> {
  const deleted = new Set(deletes);
  const checked = new Set<string>();
  for (const path of deletes) await assertRealParents(fs, layout, path, checked);
  for (const [, path] of moves) {
    const segments = path.split("/");
    for (let i = 1; i < segments.length; i++) {
      const dir = segments.slice(0, i).join("/");
      const stat = await fs.stat(layout.file(dir));
      if (!stat) break;
      if (stat.kind === "directory") continue;
      if (stat.kind === "file" && deleted.has(dir)) break; // removed before the moves
      throw unsafe(path, layout.file(dir), `is a ${stat.kind} where the new release needs a directory`);
    }
    const target = await fs.stat(layout.file(path));
    if (target?.kind === "directory") {
      const kept = (await filesBelow(fs, layout, path)).filter((f) => !deleted.has(f));
      if (kept.length > 0)
        throw unsafe(path, layout.file(kept[0]!), "is in a directory the new release replaces with a file");
    } else if (target && target.kind !== "file" && target.kind !== "symlink") {
      throw unsafe(path, layout.file(path), `is a ${target.kind}`);
    }
  }
}

/**
 * Performs (or finishes) a journaled commit. Idempotent: every step may already have happened, because
 * a previous run may have died anywhere in here. A missing staged file means its move already happened
 * (staged files and the journal were fsynced before the journal was written).
 */
export async function applyJournal(fs: FileSystem, layout: InstallLayout, journal: Journal): Promise<void> {
  const checked = new Set<string>();
  // The new release's paths; with a stat file (a large install) the moved paths, which are the ones
  // this commit can make collide with a deleted file.
  const targetPaths = journal.state.statCache
    ? journal.moves.map(([, path]) => path)
    : Object.keys(journal.state.files);
  const targets = new Map(targetPaths.map((p) => [collisionKey(p), p]));
  const touchedDirs = new Set<string>();
  const saveDir = journal.previous === undefined ? undefined : layout.previousFiles(journal.previous);
  for (const [index, path] of journal.deletes.entries()) {
    await assertRealParents(fs, layout, path, checked);
    const native = layout.file(path);
    const stat = await fs.stat(native);
    if (!stat || stat.kind === "directory") continue;
    // On a case-insensitive file system "Readme.txt" (old) and "README.txt" (new) are one file.
    const twin = targets.get(collisionKey(path));
    if (twin !== undefined && twin !== path && (await fs.stat(layout.file(twin)))?.ino === stat.ino) continue;
    if (saveDir === undefined) await fs.unlink(native);
    else await fs.rename(native, join(saveDir, savedDeleteName(index)));
    touchedDirs.add(dirname(native));
  }
  for (const dir of touchedDirs) await fs.fsyncDir(dir);
  if (saveDir !== undefined) await fs.fsyncDir(saveDir);
  // Remove directories the deletes left empty, deepest first, never above the install root.
  for (let dir of [...touchedDirs].sort((a, b) => b.length - a.length)) {
    while (dir.length > layout.root.length && dir.startsWith(layout.root)) {
      if (!(await fs.rmdirIfEmpty(dir))) break;
      dir = dirname(dir);
    }
  }
  const syncDirs = new Set<string>();
  for (const [name, path, executable] of journal.moves) {
    const target = layout.file(path);
    syncDirs.add(dirname(target)); // also for moves a previous, killed run made: their entries need fsync too
    const staged =
      journal.source === undefined
        ? layout.stagedFile(name)
        : join(layout.previousFiles(journal.source), name);
    if (!(await fs.stat(staged))) continue;
    await assertRealParents(fs, layout, path, checked);
    await fs.mkdirp(dirname(target));
    await fs.chmod(staged, executable ? 0o755 : 0o644);
    // Preflight allowed a directory here only if the deletes emptied it.
    if ((await fs.stat(target))?.kind === "directory" && !(await fs.rmdirIfEmpty(target))) {
      throw unsafe(path, target, "is a directory that is not empty");
    }
    // Saved only while the staged file still exists: after the move, the target is the new file.
    const replaced = await fs.stat(target);
    if (saveDir !== undefined && replaced && replaced.kind !== "directory") {
      await fs.rename(target, join(saveDir, savedMoveName(name)));
    }
    await fs.rename(staged, target);
  }
  if (saveDir !== undefined) syncDirs.add(saveDir);
  for (const dir of syncDirs) await fs.fsyncDir(dir);
  await fs.writeFileAtomic(layout.state, encodeState(journal.state));
  if (journal.rollback) await recordRollback({ fs, layout }, journal.rollback);
  await fs.unlink(layout.journal);
  await fs.fsyncDir(layout.ferry);
}

/** Temp names of atomic writes and staged-chunk downloads: never read, only renamed into place. */
const TEMP_NAME = /\.tmp-[0-9a-f]+$/;

/** Removes temp files an interrupted run left in `.ferry/`, `manifests/`, `objects/` and `staging/chunks/`. */
async function sweepTemps(fs: FileSystem, layout: InstallLayout): Promise<void> {
  for (const dir of [layout.ferry, layout.manifests, layout.objects, layout.stagedChunks]) {
    for (const name of await fs.readdir(dir)) if (TEMP_NAME.test(name)) await fs.unlink(join(dir, name));
  }
}

/**
 * Recovery on open (under the lock): rolls an interrupted commit forward and reclaims temp files a
 * failed run left. Returns true when it finished a commit.
 */
export async function recover(fs: FileSystem, layout: InstallLayout): Promise<boolean> {
  await sweepTemps(fs, layout);
  if (!(await fs.stat(layout.journal))) return false;
  const journal = parseJournal(parseJson(layout.journal, await fs.readFile(layout.journal)), layout.journal);
  await applyJournal(fs, layout, journal);
  await fs.removeTree(layout.stagedFiles);
  return true;
}
