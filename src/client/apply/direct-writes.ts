import type { Crypto, Sha256Hasher } from "../../ports/crypto.js";
import { FerryError } from "../../core/errors.js";
import type { ChunkRef } from "../../core/manifest.js";
import type { FileWrite } from "../../core/planner.js";
import type { FileStat, FileSystem, FileWriter } from "../../ports/fs.js";
import type { InstallLayout } from "../install/layout.js";
import { finishStaged, readSource } from "./assemble.js";

/** Staged files open at once while chunks stream in; a file that would exceed it is assembled afterwards. */
const MAX_OPEN = 128;
/** Completed staged files whose fsync runs concurrently (ext4 and others batch concurrent syncs). */
const SYNC_CONCURRENCY = 16;
const SLOT = 2 ** 21;

export interface DirectResult {
  readonly reusedBytes: number;
  readonly stat: FileStat;
}

interface Open {
  readonly index: number;
  readonly write: FileWrite;
  readonly writer: FileWriter;
  readonly whole: Sha256Hasher;
  /** Chunks [0, cursor) are written: `bytes` bytes. */
  cursor: number;
  bytes: number;
  reusedBytes: number;
}

/**
 * Writes downloaded chunks straight into their staged files (`staging/files/<index>`) as they arrive,
 * instead of one staged file per chunk read back later (issue 16: lstat/open/rename per chunk made a
 * fresh install of 9,870 files 10× slower than `cp -a`). A file is written front to back: a chunk goes
 * in directly only when everything before it in its file is written or at hand (a local copy, or a chunk
 * already staged); otherwise `deliver` answers false and the fetcher stages the chunk as before. A
 * completed file is verified (SHA-256 and size) and fsynced once, SYNC_CONCURRENCY at a time.
 *
 * Crash safety is the journal's (journal.ts): staged files are complete, verified and durable before the
 * journal names them; a run killed earlier leaves only staging, which the next run removes. A run that
 * fails (network cut, cancel) keeps what arrived: `salvage` copies the directly written chunks into
 * `staging/chunks/`, so the next run downloads them only once, as before.
 */
export class DirectWrites {
  /** Where each downloaded chunk goes: write index × 2^21 + chunk index (a number; an array when several). */
  private readonly destinations = new Map<string, number | number[]>();
  /** Chunks this plan downloads that have not arrived (written or staged) yet. */
  private readonly pending = new Set<string>();
  private readonly open = new Map<number, Open>();
  private readonly done = new Map<number, DirectResult>();
  /** Writes completed here (their sync may still run). */
  private readonly finished = new Set<number>();
  /** Writes that went wrong on the direct path (a damaged local copy): assembled afterwards from scratch. */
  private readonly abandoned = new Set<number>();
  private readonly syncing = new Set<Promise<void>>();
  /** Files written here, by chunks written (salvage's input; set when a file finishes or salvage closes it). */
  private readonly writtenFiles = new Map<number, number>();
  /** Chunks being delivered right now: at hand for their own destinations before they are staged. */
  private readonly inHand = new Map<string, Uint8Array>();
  private failure: unknown;
  private closed = false;

  constructor(
    private readonly deps: {
      readonly fs: FileSystem;
      readonly layout: InstallLayout;
      readonly crypto: Crypto;
      /** A staged file is complete and verified. */
      readonly onDone: (write: FileWrite, result: DirectResult) => void;
    },
    private readonly writes: readonly FileWrite[],
    fetched: readonly ChunkRef[],
  ) {
    for (const chunk of fetched) this.pending.add(chunk.hash);
    for (const [w, write] of writes.entries()) {
      if (write.delta || write.file.link !== undefined) continue;
      for (const [k, chunk] of write.file.chunks.entries()) {
        if (!this.pending.has(chunk.hash)) continue;
        // Compact: a 500,000-file install has as many entries (MAX_FILE_CHUNKS is 2^20 < 2^21).
        const at = w * SLOT + k;
        const list = this.destinations.get(chunk.hash);
        if (list === undefined) this.destinations.set(chunk.hash, at);
        else if (typeof list === "number") this.destinations.set(chunk.hash, [list, at]);
        else list.push(at);
      }
    }
  }

  /**
   * A verified chunk arrived: written into every staged file that is ready for it. True when no
   * destination is left waiting (nothing to stage); false when the caller must stage it.
   */
  async deliver(chunk: ChunkRef, data: Uint8Array): Promise<boolean> {
    if (this.failure !== undefined) throw this.failure;
    const destinations = this.destinations.get(chunk.hash);
    // A delta object, or a chunk only a file assembled later reads: staged.
    if (this.closed || !destinations || !this.pending.has(chunk.hash)) return false;
    this.inHand.set(chunk.hash, data);
    let waiting = false;
    try {
      for (const at of typeof destinations === "number" ? [destinations] : destinations) {
        const w = Math.floor(at / SLOT);
        const k = at % SLOT;
        if (this.finished.has(w) || this.abandoned.has(w)) {
          waiting ||= this.abandoned.has(w);
          continue;
        }
        try {
          const file = await this.reach(w, k);
          if (file && file.cursor > k) continue; // a repeat, written from memory with the earlier one
          if (!file) {
            waiting = true;
            continue;
          }
          await this.put(file, data, false);
          await this.advance(file);
        } catch {
          // A staged file that cannot be written here (a full disk, a failing volume) is assembled the
          // usual way after the download, which reports that error if it persists; the download goes on
          // and keeps its chunks in staging.
          const file = this.open.get(w);
          if (file) await this.abandon(file);
          else this.abandoned.add(w);
        }
        waiting ||= this.abandoned.has(w);
      }
    } finally {
      this.inHand.delete(chunk.hash);
    }
    // Staged when some file still needs it; until then it stays pending, so no file reads it too early.
    if (!waiting) this.pending.delete(chunk.hash);
    return !waiting;
  }

  /** The caller staged the chunk (after `deliver` answered false): files read it from staging from now on. */
  staged(hash: string): void {
    this.pending.delete(hash);
  }

  /** After the download: waits for every fsync; from now on chunks (refetches) are staged, not delivered. */
  async finishDownload(): Promise<void> {
    this.closed = true;
    await this.drain();
  }

  /** The staged file's result when it was completed here; undefined means assemble it the usual way. */
  result(w: number): DirectResult | undefined {
    return this.done.get(w);
  }

  /**
   * Completes a file the download left half-written (everything it needs is now local or staged), or
   * answers false (nothing written, or something missing): the caller assembles it from scratch.
   */
  async complete(w: number): Promise<DirectResult | undefined> {
    const file = this.open.get(w);
    if (!file) return undefined;
    if (!(await this.advance(file))) {
      await this.abandon(file);
      return undefined;
    }
    await this.drain();
    return this.done.get(w);
  }

  /**
   * The download failed: close every open staged file and copy each directly written chunk into
   * staging/chunks, so the next run finds it there. Returns the number of chunks kept. With `keep`
   * false only closes them: when the disk refuses renames for good, each kept chunk's rename would wait
   * the whole retry bound again before the error reaches the player.
   */
  async salvage(keep = true): Promise<number> {
    this.closed = true;
    await Promise.allSettled([...this.syncing]);
    for (const file of this.open.values()) {
      await file.writer.abort();
      this.writtenFiles.set(file.index, file.cursor);
    }
    this.open.clear();
    if (!keep) return 0;
    const { fs, layout } = this.deps;
    let kept = 0;
    // Every downloaded chunk a staged file holds: all of a finished file's, an open one's up to its cursor.
    for (const [w, written] of this.writtenFiles) {
      const chunks = this.writes[w]!.file.chunks;
      const sources = this.writes[w]!.sources;
      let offset = 0;
      for (let k = 0; k < Math.min(written, chunks.length); offset += chunks[k]!.size, k++) {
        const chunk = chunks[k]!;
        if (sources[k]!.kind === "local" || !this.destinations.has(chunk.hash)) continue;
        const target = layout.stagedChunk(chunk.hash);
        if (await fs.stat(target)) continue;
        const data = await fs.readRange(layout.stagedFile(String(w)), offset, chunk.size);
        if (data.length !== chunk.size) break; // cut short: the rest is downloaded again
        await fs.writeFile(`${target}.tmp-${w.toString(16)}`, data);
        await fs.rename(`${target}.tmp-${w.toString(16)}`, target);
        kept++;
      }
    }
    return kept;
  }

  /** File `w` opened and written up to chunk `k` when everything before it is at hand, else undefined. */
  private async reach(w: number, k: number): Promise<Open | undefined> {
    let file = this.open.get(w);
    const write = this.writes[w]!;
    const from = file?.cursor ?? 0;
    if (from > k) return file; // a repeat of a chunk written earlier in the same file
    for (let j = from; j < k; j++) if (!this.atHand(write.file.chunks[j]!.hash)) return undefined;
    if (!file) {
      if (this.open.size >= MAX_OPEN) return undefined;
      const { fs, layout } = this.deps;
      const mode = write.file.executable ? 0o755 : 0o644;
      const writer = await fs.createWriter(layout.stagedFile(String(w)), mode);
      const whole = this.deps.crypto.createSha256();
      file = { index: w, write, writer, whole, cursor: 0, bytes: 0, reusedBytes: 0 };
      this.open.set(w, file);
    }
    while (file.cursor < k) if (!(await this.putAtHand(file))) return undefined;
    return file;
  }

  private atHand(hash: string): boolean {
    return !this.pending.has(hash) || this.inHand.has(hash);
  }

  /** Writes the chunks at hand after the cursor; true when the file was completed (and queued for sync). */
  private async advance(file: Open): Promise<boolean> {
    const chunks = file.write.file.chunks;
    while (file.cursor < chunks.length) {
      if (!this.atHand(chunks[file.cursor]!.hash)) return false;
      if (!(await this.putAtHand(file))) return false;
    }
    await this.queueSync(file);
    return true;
  }

  /** Writes the chunk at the cursor from memory, its local copy or staging; false (file abandoned) when damaged. */
  private async putAtHand(file: Open): Promise<boolean> {
    const chunk = file.write.file.chunks[file.cursor]!;
    const source = file.write.sources[file.cursor]!;
    const held = source.kind === "store" ? this.inHand.get(chunk.hash) : undefined;
    const data = held ?? (await readSource(this.deps.crypto, this.deps.fs, this.deps.layout, source, chunk));
    if (data === undefined) {
      await this.abandon(file);
      return false;
    }
    await this.put(file, data, source.kind === "local");
    return true;
  }

  private async put(file: Open, data: Uint8Array, local: boolean): Promise<void> {
    file.whole.update(data);
    await file.writer.write(data);
    file.cursor++;
    file.bytes += data.length;
    if (local) file.reusedBytes += data.length;
  }

  private async abandon(file: Open): Promise<void> {
    this.open.delete(file.index);
    this.abandoned.add(file.index);
    await file.writer.abort();
  }

  /** fsync + close + verify in the background, at most SYNC_CONCURRENCY at once; the first failure is kept. */
  private async queueSync(file: Open): Promise<void> {
    const w = file.index;
    this.open.delete(w);
    this.finished.add(w);
    this.writtenFiles.set(w, Number.MAX_SAFE_INTEGER);
    while (this.syncing.size >= SYNC_CONCURRENCY) await Promise.race(this.syncing);
    if (this.failure !== undefined) throw this.failure;
    const running = (async () => {
      try {
        await file.writer.commit();
        const stat = await finishStaged(this.deps, file.write, String(w), file.whole);
        const result = { reusedBytes: file.reusedBytes, stat };
        this.done.set(w, result);
        this.deps.onDone(file.write, result);
      } catch (error) {
        this.failure ??= error;
      }
    })().finally(() => this.syncing.delete(running));
    this.syncing.add(running);
  }

  private async drain(): Promise<void> {
    while (this.syncing.size > 0) await Promise.race(this.syncing);
    if (this.failure !== undefined) throw this.failure;
  }
}

/** A salvage that failed is noted on the error that stopped the run (the chunks are downloaded again). */
export function noteSalvageFailure(error: unknown, salvageError: unknown): void {
  if (error instanceof FerryError) {
    (error.data as Record<string, unknown>).salvage = String(salvageError);
  }
}
