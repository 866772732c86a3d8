import { contentFields, installedSelection, materialized, withContent } from "../install/content.js";
import { linkProblem } from "../plan/links.js";
import { joinPath } from "../paths.js";
import { canonicalJson } from "../../core/canonical-json.js";
import { FerryError } from "../../core/errors.js";
import { checkFormatHeader, JsonReader, parseJson } from "../../core/json-reader.js";
import type { FileEntry, Manifest } from "../../core/manifest.js";
import { assertSafePath } from "../../core/paths.js";
import { timestamp } from "../../core/time.js";
import type { Context } from "../context.js";
import {
  applyJournal,
  type Journal,
  preflightCommit,
  savedDeleteName,
  savedMoveName,
  writeJournal,
} from "./journal.js";
import { cacheEntry, hashFile, statMatches } from "../plan/local-index.js";
import { loadRelease, objectLoader } from "../remote/release.js";
import { decodeManifestJson } from "../remote/remote.js";
import { treeObjects } from "../../core/tree-diff.js";
import { isTreeHeader } from "../../core/tree-read.js";
import { MAX_RELEASE_FILES } from "../../core/tree.js";
import { type InstallState, parseState, stateToJson, type StatCacheEntry } from "../install/state.js";

/**
 * `.ferry/previous/<hash>/release.json`: the release a commit replaced (its state) and where the commit
 * put each file it replaced or deleted. Valid only while `next` is the installed manifest: a record
 * left by a commit that never happened, or by an older one, names another release and is ignored.
 */
export interface PreviousRecord {
  readonly next: string;
  readonly state: InstallState;
  /** [name under files/, path]: files present at the commit were moved there under that name. */
  readonly saved: readonly (readonly [string, string])[];
}

const HASH = /^[0-9a-f]{64}$/;

/**
 * Before a commit's journal: drops the previous release kept so far (one is kept), then records the
 * release about to be replaced. Nothing in the install changes; a crash here leaves a record whose
 * `next` is not installed, which is ignored.
 */
export async function preparePrevious(
  ctx: Pick<Context, "fs" | "layout">,
  current: InstallState,
  next: string,
  moves: Journal["moves"],
  deletes: readonly string[],
): Promise<string> {
  const hash = current.manifest.hash;
  await ctx.fs.removeTree(ctx.layout.previousRoot);
  await ctx.fs.mkdirp(ctx.layout.previousFiles(hash));
  const saved = [
    ...moves.map(([name, path]) => [savedMoveName(name), path]),
    ...deletes.map((path, i) => [savedDeleteName(i), path]),
  ];
  const json = { format: 1, type: "ferry-previous", next, state: stateToJson(current), saved };
  await ctx.fs.writeFileAtomic(
    ctx.layout.previousRecord(hash),
    new TextEncoder().encode(canonicalJson(json)),
  );
  return hash;
}

/** The kept previous release of the installed one, or undefined (none, or a stale record). */
export async function readPrevious(
  ctx: Pick<Context, "fs" | "layout">,
  installed: InstallState,
): Promise<PreviousRecord | undefined> {
  for (const name of await ctx.fs.readdir(ctx.layout.previousRoot)) {
    if (!HASH.test(name)) continue;
    const path = ctx.layout.previousRecord(name);
    if (!(await ctx.fs.stat(path))) continue;
    const json = parseJson(path, await ctx.fs.readFile(path));
    const r = new JsonReader(path, json);
    checkFormatHeader(r, "ferry-previous");
    const record: PreviousRecord = {
      next: r.string("next", HASH),
      state: parseState((json as { state: unknown }).state, `${path} state`),
      saved: r.array("saved").map((entry) => {
        const [saved, target] = entry as [unknown, unknown];
        if (typeof saved !== "string" || !/^[md]\d+$/.test(saved) || typeof target !== "string") {
          throw new FerryError("E_FORMAT", `${path} has a malformed saved entry.`, { path });
        }
        assertSafePath(target, path);
        return [saved, target] as const;
      }),
    };
    if (record.next === installed.manifest.hash && record.state.manifest.hash === name) return record;
  }
  return undefined;
}

export interface RollbackOutcome {
  readonly version: string;
  readonly fromVersion: string;
  readonly release: string;
  readonly fromRelease: string;
  readonly filesRestored: number;
  readonly filesDeleted: number;
}

function noPrevious(ctx: Pick<Context, "layout">, state: InstallState): FerryError {
  return new FerryError(
    "E_NO_PREVIOUS",
    `${ctx.layout.root} keeps no previous release for the installed ${state.version}: it was installed fresh, already rolled back, or its previous files were removed. Install an older release with 'ferry update --allow-downgrade' instead.`,
    { path: ctx.layout.root, version: state.version },
  );
}

function damaged(path: string, why: string): FerryError {
  return new FerryError(
    "E_DAMAGED",
    `Cannot roll back: ${path} ${why}, so the previous release cannot be restored exactly. Nothing was changed; run 'ferry repair' or install the older release with 'ferry update --allow-downgrade'.`,
    { path },
  );
}

/**
 * Restores the kept previous release, under the lock: verifies every file it will restore (hash and size
 * against the previous manifest) and every file it keeps, then one journaled commit whose moves come from
 * `previous/<hash>/files/`. Before the journal the install is unchanged; after it, recovery finishes the
 * rollback. Channel, serial, pointer and root stay the newest seen (rollback protection never regresses).
 */
export async function rollbackLocked(
  ctx: Context,
  state: InstallState,
  current: Manifest,
  reason: { readonly code: string; readonly why: string; readonly block: boolean },
): Promise<RollbackOutcome & { readonly message: string }> {
  const record = await readPrevious(ctx, state);
  if (!record) throw noPrevious(ctx, state);
  const hash = record.state.manifest.hash;
  const manifestPath = ctx.layout.manifest(hash);
  if (!(await ctx.fs.stat(manifestPath))) throw noPrevious(ctx, state);
  // Either layout: a tree release's objects were kept for it (keptPreviousObjects).
  const oldBytes = await ctx.fs.readFile(manifestPath);
  const fullOld = (await loadRelease(ctx, record.state.manifest, oldBytes, manifestPath, undefined)).manifest;
  // Only what that install held: its packages, minus files its base directory holds (docs/PACKAGES.md).
  const old = await materialized(
    ctx.fs,
    fullOld,
    installedSelection(record.state, fullOld),
    record.state.base,
    ctx.crypto,
  );
  const oldByPath = new Map<string, FileEntry>(old.files.map((f) => [f.path, f]));
  const currentByPath = new Map<string, FileEntry>(current.files.map((f) => [f.path, f]));
  const savedDir = ctx.layout.previousFiles(hash);

  const files: Record<string, StatCacheEntry> = {};
  const moves: [string, string, boolean][] = [];
  const restored = new Set<string>();
  for (const [name, path] of record.saved) {
    const native = joinPath(savedDir, name);
    const stat = await ctx.fs.stat(native);
    if (!stat) continue; // nothing was there at the commit (a new file), or an earlier rollback moved it back
    const entry = oldByPath.get(path);
    if (entry?.link !== undefined) {
      const problem = await linkProblem(ctx.fs, native, entry);
      if (problem) throw damaged(native, problem);
      files[path] = cacheEntry(stat);
    } else if (entry) {
      if (stat.kind !== "file") throw damaged(native, `is a ${stat.kind}`);
      const hashed = await hashFile(ctx.fs, native, old.chunking, ctx.crypto);
      if (hashed.sha256 !== entry.sha256 || hashed.size !== entry.size) throw damaged(native, "was changed");
      files[path] = cacheEntry(stat);
    }
    // A file the old release did not track (a player's file the new release overwrote) is restored too.
    moves.push([name, path, entry ? entry.executable : stat.executable]);
    restored.add(path);
  }
  for (const entry of old.files) {
    if (restored.has(entry.path)) continue;
    const native = ctx.layout.file(entry.path);
    const stat = await ctx.fs.stat(native);
    if (entry.link !== undefined && stat) {
      const problem = await linkProblem(ctx.fs, native, entry);
      if (problem) throw damaged(native, problem);
      files[entry.path] = cacheEntry(stat);
      continue;
    }
    if (!stat || stat.kind !== "file") throw damaged(native, stat ? `is a ${stat.kind}` : "is missing");
    const now = currentByPath.get(entry.path);
    const cachedSame =
      now !== undefined &&
      now.sha256 === entry.sha256 &&
      now.size === entry.size &&
      statMatches(stat, state.files[entry.path]);
    if (!cachedSame) {
      const hashed = await hashFile(ctx.fs, native, old.chunking, ctx.crypto);
      if (hashed.sha256 !== entry.sha256 || hashed.size !== entry.size) throw damaged(native, "was changed");
    }
    if (stat.executable !== entry.executable) throw damaged(native, "has another executable bit");
    files[entry.path] = cacheEntry(stat);
  }
  const deletes = current.files.map((f) => f.path).filter((p) => !oldByPath.has(p) && !restored.has(p));
  const newState: InstallState = {
    ...withContent(
      state,
      contentFields(installedSelection(record.state, fullOld), record.state.base, record.state.runtime),
    ),
    version: record.state.version,
    manifest: record.state.manifest,
    pinPointer: record.state.pinPointer ?? record.state.pointer,
    files,
  };
  await preflightCommit(ctx.fs, ctx.layout, moves, deletes);
  // The point of no return: from here recovery finishes the rollback.
  const message = `Rolled back ${state.version} -> ${record.state.version}: ${reason.why}`;
  const journal: Journal = {
    moves,
    deletes,
    state: newState,
    source: hash,
    rollback: {
      code: reason.code,
      message,
      time: timestamp(ctx.clock.now()),
      version: state.version,
      release: state.manifest.hash,
      toVersion: record.state.version,
      toRelease: hash,
      block: reason.block,
    },
  };
  await writeJournal(ctx.fs, ctx.layout, journal);
  await applyJournal(ctx.fs, ctx.layout, journal);
  await ctx.fs.removeTree(ctx.layout.previousRoot);
  for (const name of await ctx.fs.readdir(ctx.layout.manifests)) {
    if (name !== hash) await ctx.fs.unlink(ctx.layout.manifest(name));
  }
  return {
    version: record.state.version,
    fromVersion: state.version,
    release: hash,
    fromRelease: state.manifest.hash,
    filesRestored: moves.length,
    filesDeleted: deletes.length,
    message,
  };
}

/**
 * The tree objects (docs/FORMAT.md §5.2) of the kept previous release, which cleanup must keep for a
 * rollback. Empty when there is none, when it is inline, or when its metadata is already incomplete
 * (then rollback reports the damage itself when asked).
 */
export async function keptPreviousObjects(ctx: Context, installed: InstallState): Promise<string[]> {
  const record = await readPrevious(ctx, installed);
  if (!record) return [];
  const path = ctx.layout.manifest(record.state.manifest.hash);
  if (!(await ctx.fs.stat(path))) return [];
  try {
    const json = await decodeManifestJson(ctx, await ctx.fs.readFile(path), record.state.manifest, path);
    if (!isTreeHeader(json)) return [];
    // Listed directory by directory: the previous release's files are not built (large installs).
    const objects = await treeObjects(json, path, objectLoader(ctx, undefined), MAX_RELEASE_FILES);
    return [...objects];
  } catch (error) {
    if (error instanceof FerryError) return []; // unusable for rollback either way; rollback says why
    throw error;
  }
}
