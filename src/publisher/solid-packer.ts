import { chooseEncoding, type Codec, windowBits, worthCompressing } from "../core/codec.js";
import { FerryError, ioError } from "../core/errors.js";
import { MAX_BLOCK_RATIO, MAX_BLOCK_SIZE, type SolidLocation } from "../core/solid-block.js";
import type { PublisherBrotli } from "../ports/codec.js";
import type { FileSystem } from "../ports/fs.js";
import type { PackWriter, PendingLocation } from "./pack-writer.js";

/**
 * Groups the new chunks of small files into solid blocks (docs/FORMAT.md §4.1): ordered by extension then
 * path so similar files share one Brotli context, closed before a block passes `blockBytes` decoded.
 * Only where each chunk lies is held until the flush, which reads the chunks again from the build (and
 * checks their SHA-256), so memory does not grow with the bytes of small files.
 */

/** Files of at most this many bytes have their new chunks put into solid blocks. */
export const DEFAULT_SOLID_MAX_FILE = 256 * 1024;
/**
 * Decoded size a block is closed before. Measured on the OpenRCT2 objects (v1.7.10, Brotli 9): blocks of
 * 256 KiB / 1 MiB / 4 MiB store the small files in 6.30 / 6.15 / 6.01 MB; 1 MiB keeps a far hop's
 * over-read (a block fetched for one chunk) small at 2 % more bytes than 4 MiB.
 */
export const DEFAULT_BLOCK_BYTES = 1024 * 1024;
export const DEFAULT_SOLID_QUALITY = 9;
/** Blocks compressed at once (Node's thread pool); appended in order, so packs stay deterministic. */
const IN_FLIGHT = 4;

export interface SolidSettings {
  readonly maxFileBytes: number;
  readonly blockBytes: number;
  readonly quality: number;
}

/** Where a chunk was stored: its block's location in a pack, and its place in the decoded block. */
export interface SolidPlacement {
  readonly size: number;
  codec: Codec;
  location: PendingLocation | undefined;
  solid: SolidLocation | undefined;
}

interface Pending {
  readonly hash: string;
  readonly size: number;
  /** Build file and offset the chunk is read from again at the flush. */
  readonly absolute: string;
  readonly offset: number;
  readonly sortKey: string;
  readonly group: number;
  readonly placement: SolidPlacement;
}

export class SolidPacker {
  private readonly pending: Pending[] = [];

  constructor(
    private readonly settings: SolidSettings,
    private readonly brotli: PublisherBrotli,
    private readonly fs: FileSystem,
    private readonly sha256: (data: Uint8Array) => string,
  ) {
    if (settings.blockBytes < 1 || settings.blockBytes > MAX_BLOCK_SIZE) {
      throw new FerryError(
        "E_USAGE",
        `Invalid solid block size ${settings.blockBytes}: use 1 to ${MAX_BLOCK_SIZE} bytes.`,
        { blockBytes: settings.blockBytes },
      );
    }
  }

  /** True when the chunks of a file of `size` bytes go into blocks. */
  takes(size: number): boolean {
    return size <= this.settings.maxFileBytes;
  }

  /**
   * Queues a new chunk of `path`; its placement is filled in by flush(). Chunks of different `group`s
   * never share a block (group 1: files a client may build from deltas instead).
   */
  add(hash: string, size: number, path: string, absolute: string, offset: number, group = 0): SolidPlacement {
    const placement: SolidPlacement = { size, codec: "raw", location: undefined, solid: undefined };
    this.pending.push({
      hash,
      size,
      absolute,
      offset,
      sortKey: `${group}\u0000${sortKey(path)}`,
      group,
      placement,
    });
    return placement;
  }

  /** Builds, compresses and appends every block; afterwards each placement is set. */
  async flush(packs: PackWriter): Promise<{ blocks: number; chunks: number }> {
    const order = [...this.pending].sort((a, b) =>
      a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : a.offset - b.offset,
    );
    this.pending.length = 0;
    const groups: Pending[][] = [];
    let group: Pending[] = [];
    let bytes = 0;
    for (const chunk of order) {
      if (
        group.length > 0 &&
        (bytes + chunk.size > this.settings.blockBytes || group[0]!.group !== chunk.group)
      ) {
        groups.push(group);
        group = [];
        bytes = 0;
      }
      group.push(chunk);
      bytes += chunk.size;
    }
    if (group.length > 0) groups.push(group);
    let blocks = 0;
    const inFlight: Promise<void>[] = [];
    for (const members of groups) {
      const encoded = this.encode(members);
      const previous = inFlight.at(-1) ?? Promise.resolve();
      inFlight.push(
        (async () => {
          const parts = await encoded;
          await previous;
          for (const part of parts) await this.append(packs, part);
          blocks += parts.length;
        })(),
      );
      if (inFlight.length >= IN_FLIGHT) await inFlight.shift();
    }
    await Promise.all(inFlight);
    return { blocks, chunks: order.length };
  }

  /**
   * One group's blocks: the group compressed as one, or split in halves while a block would decode to
   * more than MAX_BLOCK_RATIO times its stored bytes (a reader refuses those, §5.3). A single chunk that
   * still would is stored as a plain chunk (per-chunk decoding has no such ratio below 16 MiB).
   */
  private async encode(members: Pending[]): Promise<EncodedBlock[]> {
    const data = await this.read(members);
    const compressed = worthCompressing(data)
      ? await this.brotli.compressAsync(data, {
          quality: this.settings.quality,
          sizeHint: data.length,
          windowBits: windowBits(data.length),
        })
      : data;
    const { codec, bytes } = chooseEncoding(data, compressed);
    if (data.length > MAX_BLOCK_RATIO * bytes.length && members.length > 1) {
      const half = Math.ceil(members.length / 2);
      return [...(await this.encode(members.slice(0, half))), ...(await this.encode(members.slice(half)))];
    }
    const plain = data.length > MAX_BLOCK_RATIO * bytes.length;
    return [{ members, codec, bytes, blockSize: data.length, plain }];
  }

  private async read(members: readonly Pending[]): Promise<Uint8Array> {
    const out = new Uint8Array(members.reduce((s, m) => s + m.size, 0));
    let at = 0;
    for (const m of members) {
      const data = await this.fs.readRange(m.absolute, m.offset, m.size).catch((e: unknown) => {
        throw ioError("read", m.absolute, e);
      });
      if (data.length !== m.size || this.sha256(data) !== m.hash) {
        throw new FerryError(
          "E_IO",
          `${m.absolute} changed while being published (bytes ${m.offset}-${m.offset + m.size - 1} differ from when they were chunked); publish from a build directory nothing else writes to.`,
          { path: m.absolute },
        );
      }
      out.set(data, at);
      at += m.size;
    }
    return out;
  }

  private async append(packs: PackWriter, block: EncodedBlock): Promise<void> {
    if (block.plain) {
      const only = block.members[0]!;
      only.placement.codec = block.codec;
      only.placement.location = await packs.append(only.hash, only.size, block.codec, block.bytes);
      return;
    }
    let blockOffset = 0;
    const members = block.members.map((m) => {
      const member = { hash: m.hash, size: m.size, blockOffset };
      blockOffset += m.size;
      return member;
    });
    const location = await packs.appendBlock(block.codec, block.bytes, block.blockSize, members);
    for (const [i, m] of block.members.entries()) {
      m.placement.codec = block.codec;
      m.placement.location = location;
      m.placement.solid = { blockSize: block.blockSize, blockOffset: members[i]!.blockOffset };
    }
  }
}

interface EncodedBlock {
  readonly members: readonly Pending[];
  readonly codec: Codec;
  readonly bytes: Uint8Array;
  readonly blockSize: number;
  /** One chunk stored on its own, not as a block. */
  readonly plain: boolean;
}

/** Extension (lowercased) first, then path: files of one kind sit together, a directory's files in order. */
function sortKey(path: string): string {
  const name = path.slice(path.lastIndexOf("/") + 1);
  const dot = name.lastIndexOf(".");
  const extension = dot > 0 ? name.slice(dot + 1).toLowerCase() : "";
  return `${extension}\u0000${path}`;
}
