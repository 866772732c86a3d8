import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ioError } from "../core/errors.js";
import { sha256 } from "../node/node-crypto.js";
import { NodeFileSystem } from "../node/node-fs.js";
import type { RepoStore } from "./repo-store.js";

/** Held files are read back with the Node adapter (short reads at the end, typed I/O errors). */
const LOCAL_DISK = new NodeFileSystem();

type Held = { readonly data: Uint8Array } | { readonly file: string; readonly size: number };

/**
 * A repository as it would be after some writes, without making them: reads see `base` with the writes
 * held here on top; nothing is ever written to, deleted from or locked on `base` (its only calls are
 * read, head, readRange, list, exists and readTagged). Packs arrive as local files (putFile) and stay
 * in a temp directory of this machine until discard(). Used by `publish --dry-run` (plan-publish.ts).
 */
export class OverlayStore implements RepoStore {
  private readonly held = new Map<string, Held>();
  private readonly deleted = new Set<string>();
  private temp: string | undefined;
  private tempCount = 0;

  constructor(private readonly base: RepoStore) {}

  get location(): string {
    return this.base.location;
  }

  /** Paths written (or replaced) here, sorted, with their sizes: what the real command would upload. */
  written(): { readonly path: string; readonly size: number }[] {
    return [...this.held]
      .map(([path, h]) => ({ path, size: "data" in h ? h.data.length : h.size }))
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async read(path: string): Promise<Uint8Array | undefined> {
    const h = this.held.get(path);
    if (h) return "data" in h ? new Uint8Array(h.data) : this.readLocal(h.file);
    if (this.deleted.has(path)) return undefined;
    return this.base.read(path);
  }

  async head(path: string): Promise<{ readonly size: number; readonly modified?: Date } | undefined> {
    const h = this.held.get(path);
    if (h) return { size: "data" in h ? h.data.length : h.size };
    if (this.deleted.has(path)) return undefined;
    return this.base.head(path);
  }

  async readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    const h = this.held.get(path);
    if (!h) return this.base.readRange(path, offset, length);
    if ("data" in h) return h.data.slice(offset, offset + length);
    return LOCAL_DISK.readRange(h.file, offset, length);
  }

  async list(prefix: string): Promise<string[]> {
    const names = new Set((await this.base.list(prefix)).filter((p) => !this.deleted.has(p)));
    const start = `${prefix}/`;
    for (const path of this.held.keys())
      if (path.startsWith(start)) names.add(`${prefix}/${path.slice(start.length).split("/")[0]!}`);
    return [...names];
  }

  async exists(path: string): Promise<boolean> {
    return (await this.head(path)) !== undefined;
  }

  async write(path: string, data: Uint8Array): Promise<void> {
    this.held.set(path, { data: new Uint8Array(data) });
    this.deleted.delete(path);
  }

  async readTagged(path: string): Promise<{ readonly data: Uint8Array; readonly tag: string } | undefined> {
    if (!this.held.has(path) && !this.deleted.has(path) && this.base.readTagged)
      return this.base.readTagged(path);
    const data = await this.read(path);
    return data && { data, tag: sha256(data) };
  }

  /** No other writer sees this overlay: the write is held as is. */
  async writeIf(path: string, data: Uint8Array): Promise<void> {
    await this.write(path, data);
  }

  async putFile(path: string, localFile: string): Promise<void> {
    const size = (
      await stat(localFile).catch((e: unknown) => {
        throw ioError("stat", localFile, e);
      })
    ).size;
    this.held.set(path, { file: localFile, size });
    this.deleted.delete(path);
  }

  async tempPath(): Promise<string> {
    this.temp ??= await mkdtemp(join(tmpdir(), "ferry-dry-run-")).catch((e: unknown) => {
      throw ioError("create", join(tmpdir(), "ferry-dry-run-*"), e);
    });
    return join(this.temp, `object-${++this.tempCount}`);
  }

  async delete(path: string): Promise<void> {
    this.held.delete(path);
    this.deleted.add(path);
  }

  /** Forgets every held write and removes the temp directory. The base store stays open (its owner closes it). */
  async discard(): Promise<void> {
    this.held.clear();
    if (this.temp !== undefined) await rm(this.temp, { recursive: true, force: true });
    this.temp = undefined;
  }

  private async readLocal(file: string): Promise<Uint8Array> {
    return readFile(file).catch((e: unknown) => {
      throw ioError("read", file, e);
    });
  }
}
