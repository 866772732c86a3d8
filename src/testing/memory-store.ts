import { mkdtemp, readFile, rm, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { FerryError, ioError } from "../core/errors.js";
import { sha256 } from "../node/node-crypto.js";
import { lockedError, newHolder, type RepoLock } from "../publisher/repo-lock.js";
import { conflictError, type RepoStore } from "../publisher/repo-store.js";

/**
 * A repository held in memory: a RepoStore a publisher writes into and a MemoryTransport serves
 * (objects(): path → bytes). Writes replace whole objects (atomic by construction); readTagged/writeIf
 * compare content hashes, as DirectoryStore does; lock() admits one writer per store.
 * putFile needs a local file: tempPath() hands out names in a temp directory that close() removes.
 */
export class MemoryStore implements RepoStore {
  private readonly data = new Map<string, { readonly bytes: Uint8Array; readonly modified: Date }>();
  private holder: string | undefined;
  private temp: string | undefined;

  constructor(
    readonly location = "memory://repo",
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** The stored objects (a live view): what a MemoryTransport serves. */
  objects(): ReadonlyMap<string, Uint8Array> {
    return new Map([...this.data].map(([path, o]) => [path, o.bytes]));
  }

  /** The bytes of one object, for a transport serving this store. */
  get(path: string): Uint8Array | undefined {
    return this.data.get(path)?.bytes;
  }

  async read(path: string): Promise<Uint8Array | undefined> {
    const o = this.data.get(path);
    return o && new Uint8Array(o.bytes);
  }

  async head(path: string): Promise<{ size: number; modified: Date } | undefined> {
    const o = this.data.get(path);
    return o && { size: o.bytes.length, modified: o.modified };
  }

  async readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    const o = this.data.get(path);
    if (!o) {
      throw ioError(
        "read",
        `${this.location}/${path}`,
        Object.assign(new Error("no such object"), { code: "ENOENT" }),
      );
    }
    return new Uint8Array(o.bytes.subarray(offset, offset + length));
  }

  /** Direct children of `prefix` (objects and "directories"), as DirectoryStore and S3Store list them. */
  async list(prefix: string): Promise<string[]> {
    const base = `${prefix}/`;
    const out = new Set<string>();
    for (const path of this.data.keys()) {
      if (!path.startsWith(base)) continue;
      const rest = path.slice(base.length);
      out.add(`${prefix}/${rest.split("/")[0]!}`);
    }
    return [...out];
  }

  async exists(path: string): Promise<boolean> {
    return this.data.has(path);
  }

  async write(path: string, data: Uint8Array): Promise<void> {
    this.data.set(path, { bytes: new Uint8Array(data), modified: this.clock() });
  }

  async putFile(path: string, localFile: string): Promise<void> {
    const bytes = await readFile(localFile).catch((e: unknown) => {
      throw ioError("read", localFile, e);
    });
    await this.write(path, bytes);
    await unlink(localFile).catch(() => undefined);
  }

  async tempPath(): Promise<string> {
    this.temp ??= await mkdtemp(join(tmpdir(), "ferry-memory-store-"));
    return join(this.temp, `.tmp-${randomBytes(8).toString("hex")}`);
  }

  async delete(path: string): Promise<void> {
    this.data.delete(path);
  }

  async lock(command: string): Promise<RepoLock> {
    if (this.holder !== undefined) {
      throw lockedError(this.location, undefined, `${this.location} (in memory)`);
    }
    const token = newHolder(command).token;
    this.holder = token;
    return {
      assertHeld: async () => {
        if (this.holder !== token)
          throw new FerryError("E_LOCKED", `The lock on ${this.location} was lost.`, {
            location: this.location,
          });
      },
      release: async () => {
        if (this.holder === token) this.holder = undefined;
      },
    };
  }

  async readTagged(path: string): Promise<{ data: Uint8Array; tag: string } | undefined> {
    const o = this.data.get(path);
    return o && { data: new Uint8Array(o.bytes), tag: sha256(o.bytes) };
  }

  async writeIf(path: string, data: Uint8Array, expected: string | null): Promise<void> {
    const current = this.data.get(path);
    if ((current ? sha256(current.bytes) : null) !== expected) {
      if (current && Buffer.from(current.bytes).equals(data)) return; // already written (a retry)
      throw conflictError(this.location, path, expected);
    }
    await this.write(path, data);
  }

  /** Removes the temp directory of putFile. */
  async close(): Promise<void> {
    if (this.temp) await rm(this.temp, { recursive: true, force: true });
    this.temp = undefined;
  }
}
