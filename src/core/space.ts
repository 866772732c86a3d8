import type { Manifest } from "./manifest.js";
import type { Plan } from "./planner.js";

/** What an update adds to the install's volume at its peak (just before the commit), in bytes. */
export interface SpaceNeeded {
  /** Chunks to download, stored uncompressed in staging/chunks/. */
  readonly chunks: number;
  /** New and changed files assembled in staging/files/ (the old files stay until the commit). */
  readonly files: number;
  /** New manifest, journal.json and the new state.json (upper bounds for the last two). */
  readonly metadata: number;
  /** Directory blocks: staging/, its entries, and one block per directory a written file lives in. */
  readonly directories: number;
  /**
   * The previous release's record (`.ferry/previous/<hash>/release.json` and its directories), written
   * just before the journal. The replaced files themselves are moved there, not copied: no extra bytes.
   */
  readonly previous: number;
  readonly total: number;
}

export interface SpaceInputs {
  readonly plan: Plan;
  /** The target release (its paths size the state and journal). */
  readonly manifest: Manifest;
  /** Size of the new manifest as stored in .ferry/manifests/ (as downloaded). */
  readonly manifestBytes: number;
  /** Size of the signed pointer document the new state embeds. */
  readonly pointerBytes: number;
  /** The volume's allocation unit: each file occupies whole blocks. */
  readonly blockSize: number;
  /** Encoded size of the installed state when the update keeps it as the previous release (else absent). */
  readonly previousStateBytes?: number;
}

/** Fixed part of state.json / journal.json (headers, channel, repo URL, version, manifest ref). */
const STATE_FIXED = 4096;
/**
 * Per stat-cache entry beyond its path: `"ino":"<=20 digits>"`, `"mtimeMs":<=15 chars`,
 * `"size":<=16 digits`, keys, quotes and punctuation come to 84 bytes; 96 leaves margin.
 */
const STATE_PER_FILE = 96;
/** Per journal move `["<n>","<path>",false]` beyond its path. */
const JOURNAL_PER_MOVE = 32;
/** A directory entry for a staged chunk: 64-character name plus an 8-byte header (ext4), rounded up. */
const CHUNK_ENTRY = 80;
/** Per saved entry `["m<n>","<path>"],` of the previous record beyond its path. */
const SAVED_ENTRY = 32;
/** A directory entry for a staged file (a short decimal name). */
const FILE_ENTRY = 16;

function blocks(bytes: number, blockSize: number): number {
  return Math.ceil(bytes / blockSize) * blockSize;
}

/** UTF-8 length of a path, doubled: JSON escaping of `"` and `\` at most doubles it. */
function escaped(path: string): number {
  return 2 * new TextEncoder().encode(path).length;
}

/**
 * Bytes an update needs free on the install's volume (docs/FORMAT.md §8): everything that exists at
 * once just before the commit, each file rounded up to whole blocks. Chunks already staged by an earlier
 * run are on disk already and do not count. File-system metadata beyond directory blocks (inodes,
 * journal) is not counted.
 */
export function spaceNeeded(inputs: SpaceInputs): SpaceNeeded {
  const { plan, manifest, blockSize } = inputs;
  const chunks = plan.fetch.reduce((sum, c) => sum + blocks(c.size, blockSize), 0);
  const files = plan.writes.reduce((sum, w) => sum + blocks(w.file.size, blockSize), 0);
  const stateBytes =
    STATE_FIXED +
    inputs.pointerBytes +
    manifest.files.reduce((sum, f) => sum + escaped(f.path) + STATE_PER_FILE, 0);
  const journalBytes =
    stateBytes +
    plan.writes.reduce((sum, w) => sum + escaped(w.file.path) + JOURNAL_PER_MOVE, 0) +
    plan.deletes.reduce((sum, p) => sum + escaped(p) + 4, 0);
  const metadata =
    blocks(inputs.manifestBytes, blockSize) + blocks(stateBytes, blockSize) + blocks(journalBytes, blockSize);
  const parents = new Set(plan.writes.map((w) => w.file.path.split("/").slice(0, -1).join("/")));
  const directories =
    blockSize + // staging/
    blocks(CHUNK_ENTRY * plan.fetch.length, blockSize) +
    blocks(FILE_ENTRY * plan.writes.length, blockSize) +
    blockSize * parents.size; // a new directory, or growth of an existing one, per parent
  const previous =
    inputs.previousStateBytes === undefined
      ? 0
      : blocks(
          STATE_FIXED +
            inputs.previousStateBytes +
            plan.writes.reduce((sum, w) => sum + escaped(w.file.path) + SAVED_ENTRY, 0) +
            plan.deletes.reduce((sum, p) => sum + escaped(p) + SAVED_ENTRY, 0),
          blockSize,
        ) +
        3 * blockSize + // previous/, previous/<hash>/, previous/<hash>/files/
        blocks(FILE_ENTRY * (plan.writes.length + plan.deletes.length), blockSize);
  return {
    chunks,
    files,
    metadata,
    directories,
    previous,
    total: chunks + files + metadata + directories + previous,
  };
}
