import { joinPath, parentPath } from "../paths.js";
import { canonicalJson } from "../../core/canonical-json.js";
import { FerryError } from "../../core/errors.js";
import { checkFormatHeader, JsonReader, parseJson } from "../../core/json-reader.js";
import { assertSafePath, collisionKey } from "../../core/paths.js";
import type { FileSystem } from "../../ports/fs.js";
import type { InstallLayout } from "../install/layout.js";
import { DISPLACED_DIR, type Displacement } from "./displaced.js";
import { pool } from "./pool.js";
import { parseRollbackRecord, recordRollback, type RollbackRecord } from "../install/rollback-record.js";
import { encodeState, type InstallState, parseState, stateToJson } from "../install/state.js";

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
  /** Untracked files at moved paths: moved to `displaced/<dir>/<path>` before the new file goes in. */
  readonly displaced?: Displacement;
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
    ...(journal.displaced === undefined ? {} : { displaced: journal.displaced }),
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
    ...(r.has("displaced") ? { displaced: parseDisplacement(r.object("displaced"), document) } : {}),
  };
}

function parseDisplacement(json: unknown, document: string): Displacement {
  const r = new JsonReader(`${document} displaced`, json);
  const paths = r.array("paths").map((p) => {
    if (typeof p !== "string")
      throw new FerryError("E_FORMAT", `${document} has a malformed displaced path.`, { document });
    assertSafePath(p, document);
    return p;
  });
  return { dir: r.string("dir", DISPLACED_DIR), paths };
}

/**
 * Keeps the file a move replaces under `saved` without ever taking it away from readers: a second name
 * (hard link), then the new file is renamed over the old one, atomically. Without hard links (or for a
 * symlink, whose link would follow on some systems) the old entry is moved aside as before.
 */
async function keepReplaced(fs: FileSystem, target: string, saved: string, kind: string): Promise<void> {
  if (await fs.stat(saved)) return; // an earlier, interrupted run of this commit saved it already
  if (kind === "file" && fs.link) {
    try {
      await fs.link(target, saved);
      return;
    } catch {
      // No hard links on this volume (FAT, some network shares): the move aside below keeps it instead.
    }
  }
  await fs.rename(target, saved);
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

function notWritable(path: string, code: string, what: string): FerryError {
  const cause =
    code === "EROFS"
      ? "the volume holding it is mounted read-only: remount it read-write, or install the game elsewhere"
      : code === "EPERM"
        ? "it is marked immutable or append-only (Linux: 'lsattr' shows 'i' or 'a', remove with 'chattr -i -a' as root; macOS: 'chflags nouchg'), or the system forbids changing it"
        : code === "EACCES"
          ? "this user may not write there (a read-only directory): make it writable ('chmod u+w'), or run the update as the install's owner"
          : `the system refuses writes there (${code})`;
  return new FerryError(
    "E_NOT_WRITABLE",
    `Cannot update ${path} (${what}): ${cause}. Nothing was changed: this was found before the commit started; run the update again once it is fixed.`,
    { path, systemCode: code, what },
  );
}

/** The nearest existing directory at or above `native` (mkdirp creates the rest inside it). */
async function existingDir(fs: FileSystem, layout: InstallLayout, native: string): Promise<string> {
  let dir = native;
  while (dir.length > layout.root.length && (await fs.stat(dir))?.kind !== "directory") dir = parentPath(dir);
  return dir;
}

/**
 * Every directory whose entries the commit changes, and every file it replaces or removes, can be
 * changed by this process: a read-only or immutable one would otherwise stop the commit after its
 * journal, with part of the new release in place. On a file only what stops a rename over it or its
 * removal counts (immutable, read-only volume); its own mode does not matter to a rename.
 */
async function assertChangeable(
  fs: FileSystem,
  layout: InstallLayout,
  moves: Journal["moves"],
  deletes: readonly string[],
): Promise<void> {
  if (!fs.writable) return;
  const dirs = new Map<string, string>([[layout.ferry, "Ferry's own directory"]]);
  const files: [string, string][] = [];
  for (const [, path] of moves) {
    const target = layout.file(path);
    const stat = await fs.stat(target);
    if (stat?.kind === "file") files.push([target, "a file the new release replaces"]);
    const dir = await existingDir(fs, layout, parentPath(target));
    if (!dirs.has(dir)) dirs.set(dir, `the directory that receives ${path}`);
  }
  for (const path of deletes) {
    const target = layout.file(path);
    if ((await fs.stat(target))?.kind !== "file") continue;
    files.push([target, "a file the new release removes"]);
    const dir = parentPath(target);
    if (!dirs.has(dir)) dirs.set(dir, `the directory that holds ${path}`);
  }
  for (const [dir, what] of dirs) {
    const code = await fs.writable(dir);
    if (code !== undefined) throw notWritable(dir, code, what);
  }
  for (const [file, what] of files) {
    const code = await fs.writable(file);
    if (code === "EPERM" || code === "EROFS") throw notWritable(file, code, what);
  }
}

/**
 * The commit itself needs a little room: the journal and the new state (each written whole, then
 * renamed), and one inode per directory it creates. Checked on the volume of `.ferry/`, so a disk or
 * inode table that filled up while downloading fails here, before the journal, not halfway through.
 */
async function assertRoomToCommit(
  fs: FileSystem,
  layout: InstallLayout,
  moves: Journal["moves"],
  deletes: readonly string[],
  state: InstallState,
): Promise<void> {
  const newDirs = new Set<string>();
  for (const [, path] of moves) {
    for (let dir = parentPath(layout.file(path)); dir.length > layout.root.length; dir = parentPath(dir)) {
      if (newDirs.has(dir) || (await fs.stat(dir))) break;
      newDirs.add(dir);
    }
  }
  const volume = await fs.freeSpace(layout.ferry);
  const stateBytes = encodeState(state).length;
  const listBytes = new TextEncoder().encode(JSON.stringify([moves, deletes])).length;
  const inodes = newDirs.size + 4; // journal and state (and their temps), the previous record
  const bytes = 2 * stateBytes + listBytes + volume.blockSize * inodes;
  const short = volume.available < bytes;
  if (short || (volume.freeInodes !== undefined && volume.freeInodes < inodes)) {
    const what = short
      ? `${bytes} bytes, ${volume.available} available`
      : `${inodes} inodes (files or directories), ${volume.freeInodes ?? 0} free`;
    throw new FerryError(
      "E_NO_SPACE",
      `Cannot commit the update of ${layout.root}: the volume is full (the commit needs ${what}). Nothing was changed and the verified downloads were kept; free space or inodes on that volume and run the update again.`,
      {
        path: layout.root,
        needed: bytes,
        available: volume.available,
        inodes,
        freeInodes: volume.freeInodes,
      },
    );
  }
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
  state?: InstallState,
): Promise<void> {
  const deleted = new Set(deletes);
  const checked = new Set<string>();
  for (const path of deletes) await assertRealParents(fs, layout, path, checked);
  await assertChangeable(fs, layout, moves, deletes);
  if (state) await assertRoomToCommit(fs, layout, moves, deletes, state);
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

/** Directory fsyncs (and directory creations) of a commit run this many at once: file systems batch them. */
const DIR_SYNCS = 16;

/**
 * Creates the directories the pending moves need, shallowest first and each level's in parallel (each
 * creation syncs its parent: one at a time, a fresh install of 830 directories spent seconds in them).
 * Every move's parents inside the install are checked to be real directories first, as the moves do.
 */
async function makeParents(
  fs: FileSystem,
  layout: InstallLayout,
  journal: Journal,
  checked: Set<string>,
): Promise<void> {
  const dirs = new Set<string>();
  for (const [name, path] of journal.moves) {
    const parent = parentPath(path);
    if (!path.includes("/") || dirs.has(parent)) continue;
    const staged =
      journal.source === undefined
        ? layout.stagedFile(name)
        : joinPath(layout.previousFiles(journal.source), name);
    if (!(await fs.stat(staged))) continue; // moved already
    await assertRealParents(fs, layout, path, checked);
    for (let dir = parent; !dirs.has(dir); dir = parentPath(dir)) {
      dirs.add(dir);
      if (!dir.includes("/")) break;
    }
  }
  const byDepth = new Map<number, string[]>();
  for (const dir of dirs) {
    const depth = dir.split("/").length;
    const level = byDepth.get(depth);
    if (level) level.push(dir);
    else byDepth.set(depth, [dir]);
  }
  for (const depth of [...byDepth.keys()].sort((a, b) => a - b)) {
    await pool(byDepth.get(depth)!, DIR_SYNCS, async (dir) => {
      const native = layout.file(dir);
      if ((await fs.stat(native))?.kind !== "directory") await fs.mkdirp(native);
    });
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
    else await fs.rename(native, joinPath(saveDir, savedDeleteName(index)));
    touchedDirs.add(parentPath(native));
  }
  await pool([...touchedDirs], DIR_SYNCS, (dir) => fs.fsyncDir(dir));
  if (saveDir !== undefined) await fs.fsyncDir(saveDir);
  // Remove directories the deletes left empty, deepest first, never above the install root.
  for (let dir of [...touchedDirs].sort((a, b) => b.length - a.length)) {
    while (dir.length > layout.root.length && dir.startsWith(layout.root)) {
      if (!(await fs.rmdirIfEmpty(dir))) break;
      dir = parentPath(dir);
    }
  }
  const syncDirs = new Set<string>();
  const displaced = new Set(journal.displaced?.paths ?? []);
  await makeParents(fs, layout, journal, checked);
  for (const [name, path, executable] of journal.moves) {
    const target = layout.file(path);
    syncDirs.add(parentPath(target)); // also for moves a previous, killed run made: their entries need fsync too
    const staged =
      journal.source === undefined
        ? layout.stagedFile(name)
        : joinPath(layout.previousFiles(journal.source), name);
    if (!(await fs.stat(staged))) continue;
    await assertRealParents(fs, layout, path, checked);
    await fs.mkdirp(parentPath(target));
    // chmod would follow a link (to a file of the release, or outside it): a link has no mode of its own.
    if ((await fs.stat(staged))?.kind !== "symlink") await fs.chmod(staged, executable ? 0o755 : 0o644);
    // Preflight allowed a directory here only if the deletes emptied it.
    if ((await fs.stat(target))?.kind === "directory" && !(await fs.rmdirIfEmpty(target))) {
      throw unsafe(path, target, "is a directory that is not empty");
    }
    // Saved only while the staged file still exists: after the move, the target is the new file.
    const replaced = await fs.stat(target);
    if (replaced && replaced.kind !== "directory" && journal.displaced && displaced.has(path)) {
      // A player's file: kept in displaced/ for good (previous/ is dropped by the next commit).
      const to = layout.displaced(journal.displaced.dir, path);
      // A second name in previous/ too, so a rollback puts it back in place (best effort: a hard link).
      const saved = saveDir === undefined ? undefined : joinPath(saveDir, savedMoveName(name));
      if (saved !== undefined && replaced.kind === "file" && fs.link && !(await fs.stat(saved))) {
        await fs.link(target, saved).catch(() => undefined);
      }
      await fs.mkdirp(parentPath(to));
      await fs.rename(target, to);
      syncDirs.add(parentPath(to));
    } else if (saveDir !== undefined && replaced && replaced.kind !== "directory") {
      await keepReplaced(fs, target, joinPath(saveDir, savedMoveName(name)), replaced.kind);
    }
    // rename() replaces the target atomically: a reader sees the old file or the new one, never neither.
    await fs.rename(staged, target);
  }
  if (saveDir !== undefined) syncDirs.add(saveDir);
  await pool([...syncDirs], DIR_SYNCS, (dir) => fs.fsyncDir(dir));
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
    for (const name of await fs.readdir(dir)) if (TEMP_NAME.test(name)) await fs.unlink(joinPath(dir, name));
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
