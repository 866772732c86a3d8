import { FerryError } from "../../core/errors.js";
import { timestamp } from "../../core/time.js";
import type { FileSystem } from "../../ports/fs.js";
import { type InstallOptions, makeContext } from "../context.js";
import type { Context } from "../context.js";

/**
 * One line of `.ferry/update-log.jsonl` (docs/ROLLBACK.md): why the install changed, or why it did not.
 * `code` is a FerryError code for refusals, or ROLLBACK_* / a success kind's own code.
 */
export interface UpdateLogEntry {
  readonly time: string;
  readonly kind:
    | "updated"
    | "staged"
    | "applied-staged"
    | "discarded-staged"
    | "rolled-back"
    | "refused"
    | "blocked"
    | "no-previous"
    /** A blocked release was allowed again on purpose (unblock, docs/ROLLBACK.md). */
    | "unblocked"
    /** Untracked files were moved to .ferry/displaced/ by a commit (docs/FORMAT.md §7). */
    | "displaced";
  readonly code: string;
  readonly message: string;
  /** The release the entry is about: the one installed, refused, blocked or rolled back from. */
  readonly version: string | null;
  readonly release: string | null;
  /** The version installed before (updates and rollbacks). */
  readonly fromVersion?: string | null;
}

/** The log rotates (one older file kept) when a line would take it past this size. */
export const UPDATE_LOG_MAX_BYTES = 64 * 1024;

/**
 * Appends one entry durably: the file is rewritten atomically (temp, fsync, rename), so a crash leaves
 * the log with or without the entry, never a torn line. Bounded by rotation, so the rewrite stays small.
 * Called under the install lock.
 */
export async function appendUpdateLog(
  ctx: Pick<Context, "fs" | "layout" | "clock">,
  entry: Omit<UpdateLogEntry, "time">,
): Promise<UpdateLogEntry> {
  const full: UpdateLogEntry = { time: timestamp(ctx.clock.now()), ...entry };
  await appendUpdateLogEntry(ctx, full);
  return full;
}

/**
 * Appends a complete entry (its time fixed by the caller), unless the current log already holds an
 * identical one: a rollback's entry is written as part of its journaled commit, which may run twice.
 */
export async function appendUpdateLogEntry(
  ctx: Pick<Context, "fs" | "layout">,
  full: UpdateLogEntry,
  dedupe = false,
): Promise<void> {
  const text = JSON.stringify(full);
  const line = new TextEncoder().encode(`${text}\n`);
  const { fs, layout } = ctx;
  await fs.mkdirp(layout.ferry);
  const existing = (await fs.stat(layout.updateLog)) ? await fs.readFile(layout.updateLog) : new Uint8Array();
  if (dedupe && new TextDecoder().decode(existing).split("\n").includes(text)) return;
  if (existing.length > 0 && existing.length + line.length > UPDATE_LOG_MAX_BYTES) {
    await fs.rename(layout.updateLog, layout.updateLogRotated);
    await fs.writeFileAtomic(layout.updateLog, line);
    return;
  }
  const combined = new Uint8Array(existing.length + line.length);
  combined.set(existing);
  combined.set(line, existing.length);
  await fs.writeFileAtomic(layout.updateLog, combined);
}

async function readLines(fs: FileSystem, path: string): Promise<UpdateLogEntry[]> {
  if (!(await fs.stat(path))) return [];
  const text = new TextDecoder().decode(await fs.readFile(path));
  return text
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line, i) => {
      try {
        const value = JSON.parse(line) as UpdateLogEntry;
        if (typeof value.time !== "string" || typeof value.kind !== "string") throw new Error("fields");
        return value;
      } catch (error) {
        throw new FerryError(
          "E_FORMAT",
          `${path} line ${i + 1} is not an update-log entry; the file was edited or damaged. Move it away to start a new log.`,
          { path, line: i + 1 },
          { cause: error },
        );
      }
    });
}

/** Every kept entry, oldest first (the rotated file, then the current one). */
export async function readUpdateLogEntries(ctx: Pick<Context, "fs" | "layout">): Promise<UpdateLogEntry[]> {
  return [
    ...(await readLines(ctx.fs, ctx.layout.updateLogRotated)),
    ...(await readLines(ctx.fs, ctx.layout.updateLog)),
  ];
}

/**
 * The install's update log, oldest first: updates, staged updates, rollbacks and refusals with their
 * reasons. Reads without the lock: every write replaces the file atomically.
 */
export async function readUpdateLog(options: InstallOptions): Promise<UpdateLogEntry[]> {
  const { installDir, ...deps } = options;
  const ctx = makeContext(installDir, deps);
  const { fs, layout } = ctx;
  const root = await fs.stat(layout.root);
  if (root && root.kind !== "directory" && root.kind !== "symlink") {
    throw new FerryError(
      "E_NOT_INSTALLED",
      `${layout.root} is a ${root.kind}, not a directory: it is not a Ferry install. Give the install directory.`,
      { path: layout.root, kind: root.kind },
    );
  }
  // An install has state.json, or at least a log (a first install refused before anything was installed).
  const installed =
    (await fs.stat(layout.ferry))?.kind === "directory" &&
    ((await fs.stat(layout.state)) !== undefined ||
      (await fs.stat(layout.updateLog)) !== undefined ||
      (await fs.stat(layout.updateLogRotated)) !== undefined);
  if (!installed) {
    throw new FerryError(
      "E_NOT_INSTALLED",
      `${layout.root} is not a Ferry install (no .ferry/state.json and no update log): nothing was installed or logged here. Give the install directory, or install with 'ferry update <repo-url> ${layout.root} --trust <key>'.`,
      { path: layout.root },
    );
  }
  return readUpdateLogEntries(ctx);
}

/** Records a successful update (or a staged one) in the log. */
export async function logUpdate(
  ctx: Pick<Context, "fs" | "layout" | "clock">,
  update: {
    readonly pending: boolean;
    readonly version: string;
    readonly release: string;
    readonly from: { readonly version: string } | undefined;
  },
): Promise<void> {
  const from = update.from?.version ?? null;
  await appendUpdateLog(ctx, {
    kind: update.pending ? "staged" : "updated",
    code: "OK",
    message: update.pending
      ? `Staged the update ${from ?? "(fresh install)"} -> ${update.version}; it is applied at the next start.`
      : `Updated ${from ?? "(fresh install)"} -> ${update.version}.`,
    version: update.version,
    release: update.release,
    fromVersion: from,
  });
}
