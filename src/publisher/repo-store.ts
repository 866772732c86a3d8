import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, stat, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { FerryError, ioError } from "../core/errors.js";
import { sha256 } from "../node/node-crypto.js";
import { type LockOptions, lockDirectory, type RepoLock } from "./repo-lock.js";

/**
 * Where a publisher writes a repository: a directory (DirectoryStore) or S3-compatible object storage
 * (S3Store). Paths are relative, '/'-separated. Every write is atomic: readers see the old object or the
 * whole new one. Put-if-absent is layered on top (UploadSession: `head`, then write when missing), so a
 * store needs no conditional writes for content. Pointers and roots, the only objects ever replaced or
 * raced on, go through readTagged/writeIf (compare-and-swap) under lock() (one writer per repository).
 * Headers and upload order come from objectPolicy(path).
 */
export interface RepoStore {
  read(path: string): Promise<Uint8Array | undefined>;
  /** The object's size and last modification (when the store knows it), or undefined when it does not exist. */
  head(path: string): Promise<{ readonly size: number; readonly modified?: Date } | undefined>;
  /** `length` bytes at `offset` of an existing object (fewer only if the object is shorter). */
  readRange(path: string, offset: number, length: number): Promise<Uint8Array>;
  list(prefix: string): Promise<string[]>;
  exists(path: string): Promise<boolean>;
  write(path: string, data: Uint8Array): Promise<void>;
  /** Moves a finished local temp file (from tempPath) into the repository. */
  putFile(path: string, localFile: string): Promise<void>;
  tempPath(): Promise<string>;
  /** Removes an object; a missing object is not an error. */
  delete(path: string): Promise<void>;
  /** Where the store is, for messages: a directory or s3://bucket/prefix. */
  readonly location: string;
  /** Releases what the store holds open (connections, temp files); the one way to close a store. */
  close?(): Promise<void>;
  /** Holds the repository for one writer (E_LOCKED when another holds it); stores without it are unlocked. */
  lock?(command: string): Promise<RepoLock>;
  /** The object and a tag of its current version (content hash or ETag) for writeIf; undefined when absent. */
  readTagged?(path: string): Promise<{ readonly data: Uint8Array; readonly tag: string } | undefined>;
  /**
   * Writes `data` only if the object is still the version `expected` (a readTagged tag), or still absent
   * when `expected` is null; otherwise E_CONFLICT and nothing is written.
   */
  writeIf?(path: string, data: Uint8Array, expected: string | null): Promise<void>;
}

/** E_CONFLICT: `path` changed between this writer's read and its write. */
export function conflictError(location: string, path: string, expected: string | null): FerryError {
  return new FerryError(
    "E_CONFLICT",
    `${path} in ${location} was ${expected === null ? "created" : "replaced"} by another writer after this command read it; nothing of this command was made current. Run it again: it will build on the other writer's result.`,
    { path, location, expected },
  );
}

/** The first whole second after `time`. */
function laterSecond(time: Date): Date {
  return new Date((Math.floor(time.getTime() / 1000) + 1) * 1000);
}

export class DirectoryStore implements RepoStore {
  constructor(
    readonly root: string,
    private readonly lockOptions: LockOptions = {},
  ) {}

  lock(command: string): Promise<RepoLock> {
    return lockDirectory(this.root, command, this.lockOptions);
  }

  async readTagged(path: string): Promise<{ data: Uint8Array; tag: string } | undefined> {
    const data = await this.read(path);
    return data && { data, tag: sha256(data) };
  }

  /**
   * Compare, then atomic rename: a true compare-and-swap only among writers holding lock(). The new
   * version's mtime is in a later whole second than the one it replaces: nginx's ETag and Last-Modified
   * are mtime seconds (+ size), so a pointer replaced within one second by one of the same size would
   * otherwise keep its validators, and a CDN or browser revalidating it would keep the stale pointer.
   */
  async writeIf(path: string, data: Uint8Array, expected: string | null): Promise<void> {
    const current = await this.readTagged(path);
    if ((current?.tag ?? null) !== expected) {
      if (current && Buffer.from(current.data).equals(data)) return; // already written (a retry)
      throw conflictError(this.location, path, expected);
    }
    const replaced = current ? await this.head(path) : undefined;
    await this.write(path, data, replaced && laterSecond(replaced.modified));
  }

  get location(): string {
    return this.root;
  }

  async head(path: string): Promise<{ size: number; modified: Date } | undefined> {
    try {
      const info = await stat(join(this.root, path));
      return info.isFile() ? { size: info.size, modified: info.mtime } : undefined;
    } catch (error) {
      if ((error as { code?: string }).code === "ENOENT") return undefined;
      throw ioError("stat", join(this.root, path), error);
    }
  }

  async delete(path: string): Promise<void> {
    await unlink(join(this.root, path)).catch((error: unknown) => {
      if ((error as { code?: string }).code !== "ENOENT")
        throw ioError("delete", join(this.root, path), error);
    });
  }

  async read(path: string): Promise<Uint8Array | undefined> {
    try {
      return await readFile(join(this.root, path));
    } catch (error) {
      if ((error as { code?: string }).code === "ENOENT") return undefined;
      throw ioError("read", join(this.root, path), error);
    }
  }

  async readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    const file = join(this.root, path);
    try {
      const handle = await open(file, "r");
      try {
        const buffer = Buffer.alloc(length);
        let filled = 0;
        while (filled < length) {
          const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled);
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
        return buffer.subarray(0, filled);
      } finally {
        await handle.close();
      }
    } catch (error) {
      throw ioError("read", file, error);
    }
  }

  /** Direct children of `prefix`; leftover temp files of interrupted writes only with `withTemp` (prune). */
  async list(prefix: string, withTemp = false): Promise<string[]> {
    try {
      return (await readdir(join(this.root, prefix)))
        .filter((n) => withTemp || !n.includes(".tmp-"))
        .map((n) => `${prefix}/${n}`);
    } catch (error) {
      if ((error as { code?: string }).code === "ENOENT") return [];
      throw ioError("list", join(this.root, prefix), error);
    }
  }

  async exists(path: string): Promise<boolean> {
    try {
      await stat(join(this.root, path));
      return true;
    } catch {
      return false;
    }
  }

  /** Writes through a temp file and a rename; `minMtime`: the file's mtime is at least this. */
  async write(path: string, data: Uint8Array, minMtime?: Date): Promise<void> {
    const temp = await this.tempPath();
    const handle = await open(temp, "w", 0o644).catch((e) => {
      throw ioError("create", temp, e);
    });
    try {
      await handle.writeFile(data);
      if (minMtime) {
        const info = await handle.stat();
        if (info.mtimeMs < minMtime.getTime()) await handle.utimes(minMtime, minMtime);
      }
      await handle.sync();
    } catch (error) {
      await handle.close();
      await unlink(temp).catch(() => undefined);
      throw ioError("write", temp, error);
    }
    await handle.close();
    await this.putFile(path, temp);
  }

  async putFile(path: string, localFile: string): Promise<void> {
    const target = join(this.root, path);
    try {
      await mkdir(dirname(target), { recursive: true });
      await rename(localFile, target);
      const dir = await open(dirname(target), "r");
      await dir.sync().finally(() => dir.close());
    } catch (error) {
      throw ioError("write", target, error);
    }
  }

  async tempPath(): Promise<string> {
    const dir = join(this.root, "packs");
    await mkdir(dir, { recursive: true }).catch((e) => {
      throw ioError("mkdir", dir, e);
    });
    return join(dir, `.tmp-${randomBytes(8).toString("hex")}`);
  }
}
