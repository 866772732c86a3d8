import { open } from "node:fs/promises";
import { ioError } from "../core/errors.js";
import { sha256Stream } from "../node/node-crypto.js";
import type { RepoStore } from "./repo-store.js";

/** One stored chunk inside a pack being written; `pack` is resolved when the pack is closed. */
export interface PendingLocation {
  pack: string | undefined;
  readonly offset: number;
  readonly length: number;
}

/** A pack index entry: `[hash, size, offset, length, codec]`, plus `blockSize, blockOffset` in a solid block. */
type IndexEntry = [string, number, number, number, string, ...number[]];

/**
 * Appends stored chunks to a pack file, closing it at `maxPackSize` (a chunk never straddles two
 * packs). A pack becomes visible only when closed, under the SHA-256 of its bytes.
 */
export class PackWriter {
  private current:
    | {
        path: string;
        handle: Awaited<ReturnType<typeof open>>;
        size: number;
        hash: ReturnType<typeof sha256Stream>;
        locations: PendingLocation[];
        index: IndexEntry[];
      }
    | undefined;
  readonly written: { id: string; size: number }[] = [];

  constructor(
    private readonly store: RepoStore,
    private readonly maxPackSize: number,
  ) {}

  async append(
    chunkHash: string,
    chunkSize: number,
    codec: string,
    stored: Uint8Array,
  ): Promise<PendingLocation> {
    return this.appendStored(stored, (offset) => [[chunkHash, chunkSize, offset, stored.length, codec]]);
  }

  /**
   * Appends a solid block (docs/FORMAT.md §4.1): one stored object holding `members`. The pack index lists
   * each member as `[hash, size, offset, length, codec, blockSize, blockOffset]`.
   */
  async appendBlock(
    codec: string,
    stored: Uint8Array,
    blockSize: number,
    members: readonly { hash: string; size: number; blockOffset: number }[],
  ): Promise<PendingLocation> {
    return this.appendStored(stored, (offset) =>
      members.map((m) => [m.hash, m.size, offset, stored.length, codec, blockSize, m.blockOffset]),
    );
  }

  private async appendStored(
    stored: Uint8Array,
    indexEntries: (offset: number) => IndexEntry[],
  ): Promise<PendingLocation> {
    if (this.current && this.current.size > 0 && this.current.size + stored.length > this.maxPackSize)
      await this.close();
    if (!this.current) {
      const path = await this.store.tempPath();
      const handle = await open(path, "w", 0o644).catch((e) => {
        throw ioError("create", path, e);
      });
      this.current = { path, handle, size: 0, hash: sha256Stream(), locations: [], index: [] };
    }
    const pack = this.current;
    const location: PendingLocation = { pack: undefined, offset: pack.size, length: stored.length };
    try {
      await pack.handle.write(stored);
    } catch (error) {
      throw ioError("write", pack.path, error);
    }
    pack.hash.update(stored);
    pack.size += stored.length;
    pack.locations.push(location);
    for (const entry of indexEntries(location.offset)) pack.index.push(entry);
    return location;
  }

  /** Closes the open pack: fsync, rename to packs/<sha256>.pack, write its index. */
  async close(): Promise<void> {
    const pack = this.current;
    if (!pack) return;
    this.current = undefined;
    try {
      await pack.handle.sync();
    } catch (error) {
      throw ioError("sync", pack.path, error);
    } finally {
      await pack.handle.close();
    }
    const id = pack.hash.digest();
    for (const location of pack.locations) location.pack = id;
    await this.store.putFile(`packs/${id}.pack`, pack.path);
    const index = { format: 1, type: "ferry-pack-index", pack: id, size: pack.size, chunks: pack.index };
    await this.store.write(`packs/${id}.idx.json`, new TextEncoder().encode(JSON.stringify(index)));
    this.written.push({ id, size: pack.size });
  }
}
