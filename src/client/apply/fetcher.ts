import type { Brotli } from "../../ports/codec.js";
import type { Crypto } from "../../ports/crypto.js";
import { concatBytes } from "../../core/bytes.js";
import { decode } from "../../core/codec.js";
import { FerryError, isFerryError } from "../../core/errors.js";
import type { ChunkRef, Manifest } from "../../core/manifest.js";
import { receivedParts } from "../../core/multipart-partial.js";
import { boundaryOf, type BytePart, parseContentRange, parseMultipart } from "../../core/multipart.js";
import {
  type CoalesceOptions,
  coalesce,
  groupForMultiRange,
  type PackRange,
  rangeHeader,
} from "../../core/ranges.js";
import type { Clock } from "../../ports/clock.js";
import type { FileSystem } from "../../ports/fs.js";
import type { Host } from "../../ports/host.js";
import type { Transport, TransportResponse } from "../../ports/transport.js";
import type { EventSink, RangeMode } from "../events.js";
import { httpError, parseRetryAfter, readCapped } from "../remote/http.js";
import { retrying } from "../remote/retry.js";
import type { InstallLayout } from "../install/layout.js";
import { pool } from "./pool.js";
import { BlockDecoder } from "./solid-blocks.js";
import type { RemoteRepository } from "../remote/remote.js";

export interface FetcherOptions {
  readonly transport: Transport;
  readonly clock: Clock;
  readonly fs: FileSystem;
  /** Unique names for the temporary file each chunk is written to before its rename. */
  readonly host: Host;
  readonly layout: InstallLayout;
  readonly repo: RemoteRepository;
  readonly manifest: Manifest;
  /** Decodes and verifies the chunks (the operation's ports). */
  readonly brotli: Brotli;
  readonly crypto: Crypto;
  readonly emit: EventSink;
  readonly signal?: AbortSignal | undefined;
  /** Parallel requests (default 4). */
  readonly concurrency?: number | undefined;
  /** Attempts per request group before giving up (default 5). */
  readonly maxAttempts?: number | undefined;
  readonly initialMode?: RangeMode | undefined;
  /** How chunks are joined into ranges (default DEFAULT_COALESCE; repair joins only adjacent chunks). */
  readonly coalesce?: CoalesceOptions | undefined;
  /**
   * Takes verified chunks straight into their staged files (direct-writes.ts): `deliver` answers true
   * when the chunk is needed nowhere else, so it is not staged on its own; `staged` follows a staging.
   */
  readonly direct?: {
    deliver(chunk: ChunkRef, data: Uint8Array): Promise<boolean>;
    staged(hash: string): void;
  };
}

const PROGRESS_STEP = 256 * 1024;

/**
 * Downloads chunks by HTTP range, verifying each one, into their staged files (`direct`) or else into
 * staging/chunks. Degrades multi-range → single
 * range → whole pack when the host ignores ranges, and reports each step as a `range-mode` event.
 * Verified chunks are kept on disk (a failed run's directly written ones salvaged into staging/chunks),
 * so a retry or a later run never downloads them again.
 */
export class ChunkFetcher {
  mode: RangeMode;
  bytesDownloaded = 0;
  requests = 0;
  chunksFetched = 0;
  private readonly needed = new Map<number, Map<string, ChunkRef>>();
  private readonly fullPack = new Map<number, Promise<void>>();
  private totalBytes = 0;
  /** Set once a multi-range request was answered with 206, or any range request with 200. */
  private rangeSupportKnown = false;
  private lastProgress = 0;
  private singleRangeFaults = 0;
  private readonly blocks: BlockDecoder;

  constructor(private readonly options: FetcherOptions) {
    this.mode = options.initialMode ?? "multi";
    this.blocks = new BlockDecoder(options.brotli);
  }

  async fetch(ranges: readonly PackRange[]): Promise<void> {
    this.totalBytes += ranges.reduce((s, r) => s + r.end - r.start, 0);
    for (const range of ranges) for (const chunk of range.chunks) this.need(chunk);
    const jobs = [...groupBy(ranges, (r) => r.pack).values()].flatMap((packRanges) =>
      groupForMultiRange(packRanges),
    );
    // Jobs run one at a time until the host has shown how it answers a multi-range request (or a few
    // jobs have run): a host that ignores ranges then costs one whole-pack download, not one per
    // parallel request.
    const queue = [...jobs];
    for (let solo = 0; solo < 3 && !this.rangeSupportKnown && queue.length > 0; solo++) {
      const job = queue.shift()!;
      await this.runJob(job[0]!.pack, job);
    }
    await pool(queue, this.options.concurrency ?? 4, (job) => this.runJob(job[0]!.pack, job));
    this.emitProgress(true);
  }

  /** Fetches one chunk on its own (used when a local copy turns out to be damaged). */
  async fetchOne(chunk: ChunkRef): Promise<void> {
    await this.fetch(coalesce([chunk]));
  }

  private need(chunk: ChunkRef): void {
    const pack = this.needed.get(chunk.pack) ?? new Map<string, ChunkRef>();
    this.needed.set(chunk.pack, pack);
    pack.set(chunk.hash, chunk);
  }

  private remaining(pack: number, within?: readonly PackRange[]): ChunkRef[] {
    const needed = this.needed.get(pack);
    if (!needed) return [];
    if (!within) return [...needed.values()];
    return within.flatMap((r) => r.chunks).filter((c) => needed.has(c.hash));
  }

  /**
   * One job's chunks through the shared retry policy (retry.ts): a pack is content-addressed, so a
   * damaged answer (hash mismatch, mangled or short range) is a transport fault, fetched again (another
   * mirror first) and never kept. Each attempt asks only for the chunks still missing.
   */
  private async runJob(pack: number, job?: readonly PackRange[]): Promise<void> {
    const id = this.packId(pack);
    const path = `packs/${id}.pack`;
    const policy = {
      maxAttempts: this.options.maxAttempts ?? 5,
      sleep: (ms: number, signal?: AbortSignal) => this.options.clock.sleep(ms, signal),
      signal: this.options.signal,
      onRetry: (attempt: number, delayMs: number, e: FerryError) =>
        this.options.emit({
          type: "retry",
          url: this.options.repo.packUrl(id),
          attempt,
          delayMs,
          code: e.code,
          message: e.message,
        }),
    };
    await retrying(
      policy,
      {
        what: `pack ${id}`,
        contentAddressed: true,
        source: () => this.options.repo.packUrl(id),
        failover: (error, fault) => {
          if (fault === "corrupt") this.rangeFault(error);
          return this.options.repo.failover(path, error, fault);
        },
      },
      async (url) => {
        // Repeats while each pass makes progress (fewer chunks missing, or a lower range mode).
        for (;;) {
          const remaining = this.remaining(pack, job);
          if (remaining.length === 0) return;
          const modeBefore = this.mode;
          await this.attempt(pack, remaining);
          if (this.remaining(pack, job).length === remaining.length && this.mode === modeBefore) {
            throw new FerryError(
              "E_RANGE",
              `The server answered for ${url} without any requested byte range. Check the server or proxy configuration.`,
              { url },
            );
          }
        }
      },
    );
  }

  /**
   * Damaged range answers degrade the range mode: a mangled multi-range answer → single ranges; a
   * second mangled single-range answer → whole packs (hash-checked like everything else).
   */
  private rangeFault(error: FerryError): void {
    if (error.code !== "E_RANGE") return;
    const url = String(error.data.url ?? "");
    if (this.mode === "multi") {
      this.downgrade("single", `a multi-range answer was unusable (${error.message})`, url);
    } else if (this.mode === "single" && ++this.singleRangeFaults >= 2) {
      this.downgrade("full", `single-range answers were unusable (${error.message})`, url);
    }
  }

  private packId(pack: number): string {
    return this.options.manifest.packs[pack]!.id;
  }

  private async attempt(pack: number, chunks: readonly ChunkRef[]): Promise<void> {
    if (this.mode === "full") return this.fetchWholePack(pack);
    const ranges = coalesce(chunks, this.options.coalesce);
    if (this.mode === "multi" && ranges.length > 1) return this.request(pack, ranges);
    for (const range of ranges) {
      if ((this.mode as RangeMode) === "full") return this.fetchWholePack(pack); // a previous range may have downgraded
      await this.request(pack, [range]);
    }
  }

  /** Whole-pack mode: one download per pack, shared by every job that needs it. */
  private fetchWholePack(pack: number): Promise<void> {
    let running = this.fullPack.get(pack);
    if (!running) {
      running = this.request(pack, undefined).finally(() => this.fullPack.delete(pack));
      this.fullPack.set(pack, running);
    }
    return running;
  }

  private downgrade(mode: RangeMode, reason: string, url: string): void {
    const order: RangeMode[] = ["multi", "single", "full"];
    if (order.indexOf(mode) <= order.indexOf(this.mode)) return;
    this.mode = mode;
    this.options.emit({ type: "range-mode", mode, reason, url });
  }

  private async request(pack: number, ranges: readonly PackRange[] | undefined): Promise<void> {
    const url = this.options.repo.packUrl(this.packId(pack));
    const packSize = this.options.manifest.packs[pack]!.size;
    const headers: Record<string, string> = ranges ? { range: rangeHeader(ranges) } : {};
    this.requests++;
    this.options.repo.requests++;
    const response = await this.options.transport.get(url, {
      headers,
      ...(this.options.signal ? { signal: this.options.signal } : {}),
    });
    if (response.status === 200 || (response.status === 206 && (ranges?.length ?? 0) > 1)) {
      this.rangeSupportKnown = true;
    }
    if (response.status === 200) {
      const declared = Number(response.header("content-length") ?? packSize);
      if (declared !== packSize) {
        await response.cancel();
        throw new FerryError(
          "E_RANGE",
          `${url} answered 200 with ${declared} bytes, but the pack is ${packSize} bytes: a server or proxy sent part of it as if it were the whole.`,
          { url, declared, packSize },
        );
      }
      if (ranges) {
        const multi = ranges.length > 1;
        this.downgrade(
          multi ? "single" : "full",
          multi
            ? "the server answered a multi-range request with the whole pack"
            : "the server ignores range requests",
          url,
        );
      }
      return this.extract(response, pack, 0, packSize, url);
    }
    if (response.status !== 206) {
      await response.cancel();
      if (response.status === 416) {
        throw new FerryError(
          "E_RANGE",
          `${url} rejected the byte range (HTTP 416): the pack is shorter than the manifest says. The repository is damaged.`,
          { url },
        );
      }
      throw httpError(
        url,
        response.status,
        "pack",
        parseRetryAfter(response.header("retry-after"), this.options.clock.now()),
      );
    }
    if (!ranges) {
      await response.cancel();
      throw new FerryError("E_RANGE", `${url} answered a plain GET with 206 Partial Content.`, { url });
    }
    const boundary = boundaryOf(response.header("content-type"));
    if (boundary) {
      const cap = ranges.reduce((s, r) => s + r.end - r.start + 256, 4096);
      const received: Uint8Array[] = [];
      let body: Uint8Array;
      try {
        body = await readCapped(response, cap, "multipart range response", (part) => {
          this.countBytes(part.length);
          received.push(part);
        });
      } catch (error) {
        // Cut off mid-way (or paused/cancelled): keep the chunks that arrived whole, then report the
        // failure (and retry); a resumed update then fetches only the rest.
        const cut = ["E_NETWORK", "E_TIMEOUT", "E_ABORTED"].some((code) =>
          isFerryError(error, code as "E_NETWORK"),
        );
        if (cut) {
          for (const part of receivedParts(concatBytes(received), boundary)) {
            this.checkRange(part.start, part.start + part.data.length, packSize, url, ranges);
            await this.extractBuffer(pack, part.start, part.data, url);
          }
        }
        // Longer than every asked range plus headers: repeated or extra parts. Single ranges from now on.
        if (isFerryError(error, "E_TOO_LARGE")) {
          this.downgrade("single", "the multi-range answer was longer than the ranges asked for", url);
          return;
        }
        throw error;
      }
      let parts: BytePart[];
      try {
        parts = parseMultipart(body, boundary, url);
      } catch (error) {
        if (!isFerryError(error, "E_RANGE")) throw error;
        this.downgrade("single", `the multi-range answer could not be parsed (${error.data.why})`, url);
        return;
      }
      // Overlapping or repeated parts (RFC 9110 §14.6 says a server should not send them) mean a cache
      // or proxy is rewriting the answer: its parts are still used (each chunk is hash-checked), but
      // later requests ask for single ranges.
      if (overlaps(parts)) {
        this.downgrade("single", "the multi-range answer had overlapping or repeated parts", url);
      }
      for (const part of parts) {
        this.checkRange(part.start, part.end, packSize, url, ranges);
        this.checkTotal(part.total, packSize, url);
        await this.extractBuffer(pack, part.start, part.data, url);
      }
      return;
    }
    const range = parseContentRange(response.header("content-range"));
    if (!range) {
      await response.cancel();
      throw new FerryError("E_RANGE", `${url} sent 206 without a valid Content-Range header.`, { url });
    }
    this.checkRange(range.start, range.end, packSize, url, ranges);
    if (range.total !== undefined && range.total !== packSize) await response.cancel();
    this.checkTotal(range.total, packSize, url);
    return this.extract(response, pack, range.start, range.end, url);
  }

  private checkTotal(total: number | undefined, packSize: number, url: string): void {
    if (total !== undefined && total !== packSize) {
      throw new FerryError(
        "E_RANGE",
        `${url} is ${total} bytes but the manifest says ${packSize}. The repository is damaged or a proxy serves another object.`,
        { url, total, packSize },
      );
    }
  }

  /** A part must lie inside the pack and inside the span that was asked for (bounded over-read). */
  private checkRange(
    start: number,
    end: number,
    packSize: number,
    url: string,
    asked: readonly PackRange[],
  ): void {
    const low = Math.min(...asked.map((r) => r.start));
    const high = Math.max(...asked.map((r) => r.end));
    if (end > packSize || start < low || end > high) {
      throw new FerryError(
        "E_RANGE",
        `${url} sent bytes ${start}-${end - 1}, outside the requested ${low}-${high - 1} (pack of ${packSize} bytes). A proxy or server mangles range requests.`,
        { url, start, end },
      );
    }
  }

  /** Streams a contiguous body covering [start, end) of the pack and keeps every needed chunk in it. */
  private async extract(
    response: TransportResponse,
    pack: number,
    start: number,
    end: number,
    url: string,
  ): Promise<void> {
    const wanted = this.remaining(pack)
      .filter((c) => c.offset >= start && c.offset + c.length <= end)
      .sort((a, b) => a.offset - b.offset);
    let buffer: Uint8Array = new Uint8Array(0);
    let bufferStart = start;
    let received = 0;
    let next = 0;
    for await (const part of response.body) {
      received += part.length;
      this.countBytes(part.length);
      if (received > end - start) {
        await response.cancel();
        throw new FerryError("E_RANGE", `${url} sent more bytes than the range ${start}-${end - 1} holds.`, {
          url,
          overrun: true,
        });
      }
      buffer = buffer.length === 0 ? part.slice() : concatBytes([buffer, part]);
      while (next < wanted.length) {
        const chunk = wanted[next]!;
        const from = chunk.offset - bufferStart;
        if (from + chunk.length > buffer.length) break;
        await this.accept(chunk, buffer.subarray(from, from + chunk.length), url);
        next++;
      }
      // Drop bytes no remaining chunk needs: memory stays about one chunk.
      // Invariant: buffer[0] is pack byte `bufferStart`, so bytes still to come are never misplaced.
      const keepFrom = next < wanted.length ? wanted[next]!.offset : bufferStart + buffer.length;
      const drop = Math.min(keepFrom - bufferStart, buffer.length);
      buffer = buffer.subarray(drop);
      bufferStart += drop;
      if (next >= wanted.length && end - start - received > 0) {
        await response.cancel(); // everything needed arrived; do not download the rest
        return;
      }
    }
    if (next < wanted.length) {
      throw new FerryError(
        "E_NETWORK",
        `The download of ${url} stopped after ${received} of ${end - start} bytes.`,
        { url, received, expected: end - start },
      );
    }
  }

  private async extractBuffer(pack: number, start: number, data: Uint8Array, url: string): Promise<void> {
    const end = start + data.length;
    // By offset: the chunks of one solid block follow each other, so the block is decoded once.
    for (const chunk of this.remaining(pack).sort((a, b) => a.offset - b.offset)) {
      if (chunk.offset >= start && chunk.offset + chunk.length <= end) {
        await this.accept(
          chunk,
          data.subarray(chunk.offset - start, chunk.offset - start + chunk.length),
          url,
        );
      }
    }
  }

  /** Verifies a stored chunk and keeps it in staging; only verified bytes are ever written. */
  private async accept(chunk: ChunkRef, stored: Uint8Array, url: string): Promise<void> {
    // Claim the chunk first: concurrent whole-pack answers may carry it twice; only one writes it.
    const needed = this.needed.get(chunk.pack);
    if (!needed?.delete(chunk.hash)) return;
    const what = `chunk ${chunk.hash} at ${url} offset ${chunk.offset}`;
    let data: Uint8Array;
    try {
      data = chunk.solid
        ? this.blocks.chunk(chunk, stored, what)
        : decode(this.options.brotli, chunk.codec, stored, chunk.size, what);
    } catch (error) {
      if (chunk.solid) needed.set(chunk.hash, chunk); // a retry fetches the block again
      throw error;
    }
    const actual = await this.options.crypto.sha256(data);
    if (actual !== chunk.hash) {
      this.blocks.drop();
      needed.set(chunk.hash, chunk); // still needed: another mirror may serve it intact
      throw new FerryError(
        "E_HASH_MISMATCH",
        `The ${what} has sha256 ${actual}: the pack is corrupt or was tampered with. Nothing was installed; report this to the publisher.`,
        {
          url,
          offset: chunk.offset,
          expected: chunk.hash,
          actual,
        },
      );
    }
    this.chunksFetched++;
    if (await this.options.direct?.deliver(chunk, data)) return;
    const { fs, layout, host } = this.options;
    const temp = `${layout.stagedChunk(chunk.hash)}.tmp-${host.randomId(4)}`;
    await fs.writeFile(temp, data);
    await fs.rename(temp, layout.stagedChunk(chunk.hash));
    this.options.direct?.staged(chunk.hash);
  }

  private countBytes(n: number): void {
    this.bytesDownloaded += n;
    this.emitProgress(false);
  }

  private emitProgress(final: boolean): void {
    if (!final && this.bytesDownloaded - this.lastProgress < PROGRESS_STEP) return;
    if (final && this.lastProgress === this.bytesDownloaded) return;
    this.lastProgress = this.bytesDownloaded;
    this.options.emit({
      type: "download",
      bytes: this.bytesDownloaded,
      totalBytes: Math.max(this.totalBytes, this.bytesDownloaded),
    });
  }
}

function overlaps(parts: readonly BytePart[]): boolean {
  const sorted = [...parts].sort((a, b) => a.start - b.start);
  return sorted.some((part, i) => i > 0 && part.start < sorted[i - 1]!.end);
}

function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}
