import { closeSync, createReadStream, openSync, writeSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import type { ChunkingParams } from "../core/chunker.js";
import { ioError } from "../core/errors.js";
import { comparePaths } from "../core/paths.js";
import { sha256 } from "../node/node-crypto.js";
import type { PublisherPorts } from "../ports/core-ports.js";

/**
 * The publisher's stat cache: for each file of the last successful publish of a build directory into a
 * repository, the file's identity (device, inode, size, mtime and ctime in ns) and what reading it gave
 * (SHA-256 and chunk list). A republish takes a file's hash and chunks from here, without reading it,
 * only while its identity is exactly the same and every chunk is in the repository's index with that
 * size (the caller checks); anything else (a changed file, another chunking, a pruned repository, a
 * damaged cache) reads the file as if there were no cache.
 *
 * A line per file, sorted by release path like the publish itself, so lookups are one merge pass and
 * memory does not grow with the number of files. Written to a temporary file during the publish and
 * renamed over the old cache only after the publish committed.
 */
export interface CachedContent {
  readonly sha256: string;
  readonly chunks: readonly { readonly hash: string; readonly size: number }[];
}

/**
 * A file whose mtime or ctime is this close to the publish's start is not recorded: a write in the same
 * timestamp tick could leave its identity unchanged (2 s covers FAT's mtime granularity).
 */
export const RACY_MS = 2000;
const HEX64 = /^[0-9a-f]{64}$/;
const FLUSH_CHARS = 64 * 1024;

interface Line {
  readonly path: string;
  readonly identity: string;
  readonly content: CachedContent;
}

/** The user's cache directory for Ferry (FERRY_CACHE_DIR, else the platform's per-user cache). */
export function defaultCacheDir(): string {
  const env = process.env;
  if (env.FERRY_CACHE_DIR) return env.FERRY_CACHE_DIR;
  if (process.platform === "win32")
    return join(env.LOCALAPPDATA ?? join(homedir(), "AppData", "Local"), "ferry", "cache");
  if (process.platform === "darwin") return join(homedir(), "Library", "Caches", "ferry");
  return join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "ferry");
}

export class StatCache {
  private readonly lines: Lines | undefined;
  private next: Line | undefined;
  private done = false;
  private lastPath: string | undefined;
  /** Compressed metadata objects of the last publish, by SHA-256 of their raw bytes and quality. */
  private readonly objects = new Map<string, Uint8Array>();
  private readonly usedObjects = new Map<string, Uint8Array>();
  /** The new cache, written through a small buffer (sync writes: no backlog can build up in memory). */
  private out: number | undefined;
  private buffered = "";

  private constructor(
    private readonly file: string,
    header: string,
    private readonly startedMs: number,
    lines: Lines | undefined,
    out: number | undefined,
  ) {
    this.lines = lines;
    this.out = out;
    if (out !== undefined) this.buffered = `${header}\n`;
  }

  private get temp(): string {
    return `${this.file}.tmp`;
  }

  /**
   * The cache of (buildDir, repository) in `dir`. `write` false (a dry run) reads it and writes nothing.
   * A missing or unreadable cache reads as empty.
   */
  static async open(
    dir: string,
    buildDir: string,
    repository: string,
    chunking: ChunkingParams,
    write: boolean,
  ): Promise<StatCache> {
    const key = sha256(new TextEncoder().encode(`${resolve(buildDir)}\n${repository}`));
    const file = join(dir, "publish", `${key}.txt`);
    const header = JSON.stringify({ format: 1, type: "ferry-publish-cache", chunking });
    const lines = await openLines(file);
    let first: IteratorResult<string> | undefined;
    try {
      first = await lines?.next();
    } catch {
      first = undefined;
    }
    const usable = first !== undefined && !first.done && first.value === header;
    if (!usable) lines?.close();
    const objects = usable ? await readObjects(`${file}.objects`) : new Map<string, Uint8Array>();
    let out: number | undefined;
    if (write) {
      // One publisher per repository at a time (the repository lock), so one temporary name suffices.
      try {
        await mkdir(join(dir, "publish"), { recursive: true });
        out = openSync(`${file}.tmp`, "w");
      } catch (error) {
        lines?.close();
        throw ioError("create", `${file}.tmp`, error);
      }
    }
    const cache = new StatCache(file, header, Date.now(), usable ? lines : undefined, out);
    for (const [k, v] of objects) cache.objects.set(k, v);
    return cache;
  }

  /**
   * `ports` whose brotli reuses the last publish's output for the same raw bytes and quality (tree
   * objects of unchanged directories: re-encoding them at quality 11 was most of a republish). A reused
   * output is decoded and compared with the input first: a damaged cache costs an encode, never a
   * wrong object.
   */
  metadataPorts(ports: PublisherPorts): PublisherPorts {
    const compress = (data: Uint8Array, options: Parameters<PublisherPorts["brotli"]["compress"]>[1]) => {
      const key = `${sha256(data)}:${options.quality}:${options.windowBits}`;
      const hit = this.objects.get(key);
      if (hit !== undefined && sameBytes(decodeOrUndefined(ports, hit, data.length), data)) {
        this.usedObjects.set(key, hit);
        return hit;
      }
      const out = ports.brotli.compress(data, options);
      this.usedObjects.set(key, out);
      return out;
    };
    return { ...ports, brotli: { ...ports.brotli, compress } };
  }

  /** What the last publish read for `path` if its identity is unchanged. Call in release-path order. */
  async lookup(path: string, identity: string | undefined): Promise<CachedContent | undefined> {
    while (!this.done) {
      this.next ??= await this.read();
      if (this.next === undefined) break;
      const order = comparePaths(this.next.path, path);
      if (order > 0) return undefined;
      const line = this.next;
      this.next = undefined;
      if (order === 0) return identity !== undefined && line.identity === identity ? line.content : undefined;
    }
    return undefined;
  }

  /** Records what reading `path` gave, for the next publish (not when its stamps are too recent). */
  record(
    path: string,
    identity: string | undefined,
    changedMs: number | undefined,
    content: CachedContent,
  ): void {
    if (this.out === undefined || identity === undefined || changedMs === undefined) return;
    if (changedMs >= this.startedMs - RACY_MS) return;
    const chunks = content.chunks.map((c) => `${c.hash}:${c.size}`).join(",");
    this.buffered += `${JSON.stringify([path, identity, content.sha256, chunks])}\n`;
    if (this.buffered.length >= FLUSH_CHARS) this.flush();
  }

  private flush(): void {
    if (this.out === undefined || this.buffered === "") return;
    try {
      writeSync(this.out, this.buffered);
    } catch (error) {
      throw ioError("write", this.temp, error);
    }
    this.buffered = "";
  }

  private closeOut(): void {
    if (this.out === undefined) return;
    const fd = this.out;
    this.out = undefined;
    closeSync(fd);
  }

  /** After the publish committed: the new cache replaces the old one. */
  async commit(): Promise<void> {
    this.lines?.close();
    if (this.out === undefined) return;
    try {
      this.flush();
    } finally {
      this.closeOut();
    }
    try {
      await writeFile(`${this.file}.objects.tmp`, encodeObjects(this.usedObjects));
      await rename(`${this.file}.objects.tmp`, `${this.file}.objects`);
      await rename(this.temp, this.file);
    } catch (error) {
      throw ioError("rename", this.temp, error);
    }
  }

  /** The publish failed: the old cache stays. */
  async abandon(): Promise<void> {
    this.lines?.close();
    if (this.out === undefined) return;
    this.closeOut();
    await rm(this.temp, { force: true });
  }

  /** The next well-formed line in order; a damaged or out-of-order line ends the cache (read as empty). */
  private async read(): Promise<Line | undefined> {
    if (!this.lines) {
      this.done = true;
      return undefined;
    }
    let text: IteratorResult<string>;
    try {
      text = await this.lines.next();
    } catch {
      text = { done: true, value: undefined };
    }
    const line = text.done ? undefined : parseLine(text.value);
    if (line === undefined || (this.lastPath !== undefined && comparePaths(this.lastPath, line.path) >= 0)) {
      this.done = true;
      return undefined;
    }
    this.lastPath = line.path;
    return line;
  }
}

interface Lines {
  next(): Promise<IteratorResult<string>>;
  close(): void;
}

/** The cache file's lines, or undefined when it cannot be opened (no cache yet). */
async function openLines(file: string): Promise<Lines | undefined> {
  const stream = createReadStream(file, { encoding: "utf8" });
  const opened = await new Promise<boolean>((done) => {
    stream.once("open", () => done(true));
    stream.once("error", () => done(false));
  });
  if (!opened) return undefined;
  stream.on("error", () => undefined); // a read error ends the iterator: the rest reads as not cached
  const reader = createInterface({ input: stream, crlfDelay: Infinity });
  const iterator = reader[Symbol.asyncIterator]();
  return {
    next: () => iterator.next(),
    close: () => {
      reader.close();
      stream.destroy();
    },
  };
}

function parseLine(text: string): Line | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== 4) return undefined;
  const [path, identity, hash, list] = value as unknown[];
  if (typeof path !== "string" || typeof identity !== "string" || typeof hash !== "string") return undefined;
  if (!HEX64.test(hash) || typeof list !== "string") return undefined;
  const chunks: { hash: string; size: number }[] = [];
  for (const item of list === "" ? [] : list.split(",")) {
    const [h, s] = item.split(":");
    const size = Number(s);
    if (h === undefined || !HEX64.test(h) || !Number.isSafeInteger(size) || size <= 0) return undefined;
    chunks.push({ hash: h, size });
  }
  // A file of one chunk has the chunk's hash: a cheap check that the line is what was written.
  if (chunks.length === 1 && chunks[0]!.hash !== hash) return undefined;
  return { path, identity, content: { sha256: hash, chunks } };
}

/** The objects file: per object its key (UTF-8, u16 length), then its bytes (u32 length). */
function encodeObjects(objects: ReadonlyMap<string, Uint8Array>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [key, bytes] of objects) {
    const k = new TextEncoder().encode(key);
    const head = new Uint8Array(6);
    const view = new DataView(head.buffer);
    view.setUint16(0, k.length);
    view.setUint32(2, bytes.length);
    parts.push(head, k, bytes);
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The objects file's entries; a missing file or a damaged tail reads as what came before it. */
async function readObjects(path: string): Promise<Map<string, Uint8Array>> {
  const objects = new Map<string, Uint8Array>();
  let data: Uint8Array;
  try {
    data = await readFile(path);
  } catch {
    return objects;
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let at = 0;
  while (at + 6 <= data.length) {
    const keyLength = view.getUint16(at);
    const length = view.getUint32(at + 2);
    if (at + 6 + keyLength + length > data.length) break;
    const key = new TextDecoder().decode(data.subarray(at + 6, at + 6 + keyLength));
    objects.set(key, data.slice(at + 6 + keyLength, at + 6 + keyLength + length));
    at += 6 + keyLength + length;
  }
  return objects;
}

function decodeOrUndefined(ports: PublisherPorts, bytes: Uint8Array, size: number): Uint8Array | undefined {
  try {
    return ports.brotli.decompress(bytes, size);
  } catch {
    return undefined;
  }
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (a === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
