import type { Crypto } from "../../ports/crypto.js";
import type { FileSystem } from "../../ports/fs.js";
import type { InstallLayout } from "./layout.js";
import type { InstallState, StatCacheEntry, StatCacheRef } from "./state.js";

/**
 * The stat cache of a large install (docs/FORMAT.md §7) lives in `.ferry/stats/<sha256>` rather than in
 * state.json, so that the state, the journal and the previous-release record stay small, and an
 * incremental update reads only the entries of the paths it changes, streaming (memory does not grow
 * with the install). One line per file: the path as a JSON string, size, mtimeMs and ino, separated by
 * tabs. Lines are in no particular order; paths are unique. The file is immutable and named by its hash.
 *
 * It is a cache: a missing or damaged file only means the files it described are hashed again.
 */

/** Installs with at least this many files keep their stat cache in a file. */
export const STAT_FILE_MIN_ENTRIES = 10_000;

type Files = Readonly<Record<string, StatCacheEntry>>;

/** What reading or writing an install's state needs: its files, their layout, and hashing (a Context has all three). */
export interface StateAccess {
  readonly fs: FileSystem;
  readonly layout: InstallLayout;
  readonly crypto: Crypto;
}

const utf8 = new TextDecoder();
const encoder = new TextEncoder();

const TAB = 0x09;
const LF = 0x0a;
const INO = /^\d{1,40}$/;
const INTEGER = /^-?\d{1,16}$/;

function line(path: string, entry: StatCacheEntry): string {
  return `${JSON.stringify(path)}\t${entry.size}\t${entry.mtimeMs}\t${entry.ino}\n`;
}

/** A line's fields, or undefined when it is malformed (the whole file is then treated as damaged). */
function parseLine(text: string): [string, StatCacheEntry] | undefined {
  const fields = text.split("\t");
  if (fields.length !== 4) return undefined;
  let path: unknown;
  try {
    path = JSON.parse(fields[0]!);
  } catch {
    return undefined; // reported by the caller as a damaged file
  }
  if (!INTEGER.test(fields[1]!) || !INTEGER.test(fields[2]!)) return undefined;
  const size = Number(fields[1]);
  const mtimeMs = Number(fields[2]);
  const ino = fields[3]!;
  if (typeof path !== "string" || !Number.isSafeInteger(size) || size < 0) return undefined;
  if (!Number.isSafeInteger(mtimeMs) || !INO.test(ino)) return undefined;
  return [path, { size, mtimeMs, ino }];
}

/** Calls `each` with every line of the file (without its LF) as bytes; returns the file's SHA-256. */
async function scanLines(
  { fs, crypto }: StateAccess,
  path: string,
  each: (line: Uint8Array) => void,
): Promise<string | undefined> {
  if ((await fs.stat(path))?.kind !== "file") return undefined;
  const hash = crypto.createSha256();
  let carry = new Uint8Array(0);
  for await (const block of fs.readBlocks(path)) {
    hash.update(block);
    // readBlocks may reuse its buffer: lines spanning blocks are copied into `carry`.
    const data = carry.length > 0 ? concat(carry, block) : block;
    let start = 0;
    for (let end = data.indexOf(LF, start); end !== -1; end = data.indexOf(LF, start)) {
      each(data.subarray(start, end));
      start = end + 1;
    }
    carry = data.slice(start);
  }
  if (carry.length > 0) each(carry);
  return hash.digest();
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** The state with its stat cache in `files` (loaded from its file when it has one). */
export async function withStatFiles(access: StateAccess, state: InstallState): Promise<InstallState> {
  if (!state.statCache) return state;
  const { statCache, ...rest } = state;
  const files: Record<string, StatCacheEntry> = {};
  let valid = true;
  let entries = 0;
  const hash = await scanLines(access, access.layout.statFile(statCache.hash), (bytes) => {
    const parsed = valid ? parseLine(utf8.decode(bytes)) : undefined;
    if (parsed && !Object.hasOwn(files, parsed[0])) {
      files[parsed[0]] = parsed[1];
      entries++;
    } else valid = false;
  });
  const intact = valid && hash === statCache.hash && entries === statCache.entries;
  return { ...rest, files: intact ? files : {} };
}

/** The stat-cache entries of `paths` (those it has), reading a stat file line by line. */
export async function lookupStats(
  access: StateAccess,
  state: InstallState,
  paths: ReadonlySet<string>,
): Promise<Record<string, StatCacheEntry>> {
  const found: Record<string, StatCacheEntry> = {};
  if (!state.statCache) {
    for (const path of paths) if (Object.hasOwn(state.files, path)) found[path] = state.files[path]!;
    return found;
  }
  const wanted = new Set([...paths].map((p) => JSON.stringify(p)));
  let valid = true;
  const hash = await scanLines(access, access.layout.statFile(state.statCache.hash), (bytes) => {
    const tab = bytes.indexOf(TAB);
    if (tab === -1) {
      valid = false;
      return;
    }
    if (!wanted.has(utf8.decode(bytes.subarray(0, tab)))) return;
    const parsed = parseLine(utf8.decode(bytes));
    if (parsed) found[parsed[0]] = parsed[1];
    else valid = false;
  });
  return valid && hash === state.statCache.hash ? found : {};
}

/**
 * Writes the stat cache of a new state: `files`, plus the entries of the stat file of `carried.state`
 * except those of `except` (an incremental update keeps what it did not look at; a damaged carried
 * file contributes nothing). Returns the new file's ref, or undefined when there is no carried file and
 * `files` is small enough for state.json (then nothing is written).
 */
export async function saveStats(
  access: StateAccess,
  files: Files,
  carried?: { readonly state: InstallState; readonly except: ReadonlySet<string> },
): Promise<StatCacheRef | undefined> {
  const { fs, layout } = access;
  const carriedRef = carried?.state.statCache;
  const fresh: Uint8Array[] = [];
  for (const path in files) fresh.push(encoder.encode(line(path, files[path]!)));
  if (!carriedRef && fresh.length < STAT_FILE_MIN_ENTRIES) return undefined;
  const carriedPath = carriedRef ? layout.statFile(carriedRef.hash) : undefined;
  const carriedSize = carriedPath ? ((await fs.stat(carriedPath))?.size ?? 0) : 0;
  // One buffer for the whole file: kept lines are copied in as they are read, new lines written after.
  const out = new Uint8Array(carriedSize + fresh.reduce((n, l) => n + l.length, 0));
  let length = 0;
  let entries = 0;
  if (carried && carriedRef && carriedPath) {
    const except = new Set([...carried.except].map((p) => JSON.stringify(p)));
    const hash = await scanLines(access, carriedPath, (bytes) => {
      const tab = bytes.indexOf(TAB);
      if (tab !== -1 && except.has(utf8.decode(bytes.subarray(0, tab)))) return;
      if (length + bytes.length + 1 > carriedSize) return; // the file grew while read: damaged
      out.set(bytes, length);
      out[length + bytes.length] = LF;
      length += bytes.length + 1;
      entries++;
    });
    if (hash !== carriedRef.hash) length = entries = 0;
  }
  for (const l of fresh) {
    out.set(l, length);
    length += l.length;
  }
  entries += fresh.length;
  if (entries === 0) return undefined;
  const bytes = out.subarray(0, length);
  const ref = { hash: await access.crypto.sha256(bytes), entries };
  await fs.mkdirp(layout.stats);
  await fs.writeFileAtomic(layout.statFile(ref.hash), bytes);
  return ref;
}

/** Removes stat files that neither the installed state nor a kept record names. */
export async function pruneStatFiles(fs: FileSystem, layout: InstallLayout, keep: ReadonlySet<string>) {
  for (const name of await fs.readdir(layout.stats))
    if (!keep.has(name)) await fs.unlink(layout.statFile(name));
}
