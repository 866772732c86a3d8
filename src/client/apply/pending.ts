import { canonicalJson } from "../../core/canonical-json.js";
import { checkFormatHeader, JsonReader, parseJson } from "../../core/json-reader.js";
import type { Context } from "../context.js";
import {
  applyJournal,
  type Journal,
  parseMovesAndDeletes,
  preflightCommit,
  writeJournal,
} from "./journal.js";
import { withStatFiles } from "../install/stat-cache.js";
import { displacementDir, untrackedAt } from "./displaced.js";
import { reportDisplaced } from "./displaced-report.js";
import { statMatches } from "../plan/local-index.js";
import { preparePrevious } from "./previous.js";
import { type InstallState, parseState, stateToJson } from "../install/state.js";
import { readState } from "../install/read-state.js";
import { appendUpdateLog } from "../install/update-log.js";

/**
 * Apply on next start (docs/ROLLBACK.md): `.ferry/pending.json` is a journal not yet in force plus the
 * release it was staged against. Writing it changes nothing; the next `open` checks that the install and
 * the staged files are exactly as they were staged (stat identity), then commits it like an update.
 */
export interface Pending {
  readonly base: string | null;
  readonly moves: Journal["moves"];
  readonly deletes: readonly string[];
  readonly state: InstallState;
}

const HASH = /^[0-9a-f]{64}$/;

export async function writePending(ctx: Pick<Context, "fs" | "layout">, pending: Pending): Promise<void> {
  const json = {
    format: 1,
    type: "ferry-pending",
    base: pending.base,
    moves: pending.moves,
    deletes: pending.deletes,
    state: stateToJson(pending.state),
  };
  await ctx.fs.writeFileAtomic(ctx.layout.pending, new TextEncoder().encode(canonicalJson(json)));
}

function parsePending(json: unknown, document: string): Pending {
  const r = new JsonReader(document, json);
  checkFormatHeader(r, "ferry-pending");
  const base = (json as { base: unknown }).base === null ? null : r.string("base", HASH);
  const { moves, deletes } = parseMovesAndDeletes(r, document, /^\d+$/);
  return { base, moves, deletes, state: parseState((json as { state: unknown }).state, `${document} state`) };
}

/** Why a staged update can no longer be committed, or undefined when it can. */
async function staleReason(
  ctx: Context,
  pending: Pending,
  state: InstallState | undefined,
): Promise<string | undefined> {
  if ((state?.manifest.hash ?? null) !== pending.base) {
    return `the install changed to ${state?.version ?? "nothing"} after the update to ${pending.state.version} was staged`;
  }
  const moved = new Set(pending.moves.map(([, path]) => path));
  const { files } = await withStatFiles(ctx, pending.state);
  for (const [name, path] of pending.moves) {
    const stat = await ctx.fs.stat(ctx.layout.stagedFile(name));
    if (!stat || !statMatches(stat, files[path])) return `the staged copy of ${path} is gone or changed`;
  }
  for (const [path, cached] of Object.entries(files)) {
    if (moved.has(path)) continue;
    const stat = await ctx.fs.stat(ctx.layout.file(path));
    if (!stat || !statMatches(stat, cached)) return `${path} changed after the update was staged`;
  }
  return undefined;
}

export type PendingOutcome =
  | { readonly applied: true; readonly version: string; readonly fromVersion: string | null }
  | { readonly applied: false; readonly reason: string | null };

/**
 * Under the lock, before the game reads files: commits a staged update if it is still exactly
 * applicable; otherwise discards it (logged with the reason; the next update stages again).
 */
export async function applyPending(ctx: Context): Promise<PendingOutcome> {
  const path = ctx.layout.pending;
  if (!(await ctx.fs.stat(path))) return { applied: false, reason: null };
  const pending = parsePending(parseJson(path, await ctx.fs.readFile(path)), path);
  const state = await readState(ctx);
  if (state && state.manifest.hash === pending.state.manifest.hash) {
    await ctx.fs.unlink(path); // committed already (a crash after the journal, before this file went)
    return { applied: false, reason: null };
  }
  const stale = await staleReason(ctx, pending, state);
  if (stale !== undefined) {
    await ctx.fs.unlink(path);
    await ctx.fs.removeTree(ctx.layout.stagedFiles);
    await appendUpdateLog(ctx, {
      kind: "discarded-staged",
      code: "E_DAMAGED",
      message: `The staged update was discarded: ${stale}. The next update stages it again.`,
      version: pending.state.version,
      release: pending.state.manifest.hash,
      fromVersion: state?.version ?? null,
    });
    return { applied: false, reason: stale };
  }
  await preflightCommit(ctx.fs, ctx.layout, pending.moves, pending.deletes);
  const previous =
    state === undefined
      ? {}
      : {
          previous: await preparePrevious(
            ctx,
            state,
            pending.state.manifest.hash,
            pending.moves,
            pending.deletes,
          ),
        };
  // Untracked files where the staged release writes (looked at now: the player may have added some).
  const tracked = new Set(Object.keys(state ? (await withStatFiles(ctx, state)).files : {}));
  const written = pending.moves.map(([, p]) => p);
  const untracked = await untrackedAt(ctx.fs, ctx.layout, written, tracked);
  const displaced =
    untracked.length > 0 ? { dir: displacementDir(ctx.clock.now(), ctx.host), paths: untracked } : undefined;
  const journal: Journal = {
    moves: pending.moves,
    deletes: pending.deletes,
    state: pending.state,
    ...previous,
    ...(displaced ? { displaced } : {}),
  };
  await writeJournal(ctx.fs, ctx.layout, journal);
  ctx.emit({ type: "commit", moves: journal.moves.length, deletes: journal.deletes.length });
  await applyJournal(ctx.fs, ctx.layout, journal);
  if (displaced) await reportDisplaced(ctx, displaced, pending.state);
  await ctx.fs.unlink(path);
  await ctx.fs.removeTree(ctx.layout.staging);
  for (const name of await ctx.fs.readdir(ctx.layout.manifests)) {
    if (name !== pending.state.manifest.hash && !(await ctx.fs.stat(ctx.layout.previous(name)))) {
      await ctx.fs.unlink(ctx.layout.manifest(name));
    }
  }
  await appendUpdateLog(ctx, {
    kind: "applied-staged",
    code: "OK",
    message: `Applied the staged update ${state?.version ?? "(fresh install)"} -> ${pending.state.version} at start.`,
    version: pending.state.version,
    release: pending.state.manifest.hash,
    fromVersion: state?.version ?? null,
  });
  return { applied: true, version: pending.state.version, fromVersion: state?.version ?? null };
}
