import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import {
  access,
  chmod,
  link,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  rmdir,
  statfs,
  symlink,
  unlink,
  writeFile,
} from "node:fs/promises";
import { dirname } from "node:path";
import { ioError } from "../core/errors.js";
import type { FileStat, FileSystem, FileWriter, VolumeSpace } from "../ports/fs.js";
import { writeFileAtomicVia } from "./atomic-write.js";

const BLOCK = 1024 * 1024;

async function io<T>(operation: string, path: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (cause) {
    throw ioError(operation, path, cause);
  }
}

function isCode(error: unknown, ...codes: string[]): boolean {
  return codes.includes((error as { code?: string } | null)?.code ?? "");
}

/** The Node file-system adapter: durable (fsync) where the commit protocol needs it. */
export class NodeFileSystem implements FileSystem {
  async stat(path: string): Promise<FileStat | undefined> {
    try {
      const s = await lstat(path, { bigint: true });
      const kind = s.isFile()
        ? "file"
        : s.isDirectory()
          ? "directory"
          : s.isSymbolicLink()
            ? "symlink"
            : "other";
      return {
        kind,
        size: Number(s.size),
        mtimeMs: Number(s.mtimeNs / 1_000_000n),
        ino: s.ino.toString(),
        executable: (s.mode & 0o100n) !== 0n,
        identity: `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`,
        changedMs: Number((s.mtimeNs > s.ctimeNs ? s.mtimeNs : s.ctimeNs) / 1_000_000n),
      };
    } catch (error) {
      if (isCode(error, "ENOENT", "ENOTDIR")) return undefined;
      throw ioError("stat", path, error);
    }
  }

  readFile(path: string): Promise<Uint8Array> {
    return io("read", path, () => readFile(path));
  }

  readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    return io("read", path, async () => {
      const handle = await open(path, "r");
      try {
        const buffer = Buffer.alloc(length);
        let done = 0;
        while (done < length) {
          const { bytesRead } = await handle.read(buffer, done, length - done, offset + done);
          if (bytesRead === 0) break;
          done += bytesRead;
        }
        return buffer.subarray(0, done);
      } finally {
        await handle.close();
      }
    });
  }

  async *readBlocks(path: string): AsyncIterable<Uint8Array> {
    // One buffer for the whole file: a stream allocates a fresh block per read, and that garbage (external
    // memory the GC collects late) made up most of an update's peak RSS (docs/BENCHMARKS.md).
    const handle = await open(path, "r").catch((error: unknown) => {
      throw ioError("read", path, error);
    });
    try {
      const buffer = Buffer.allocUnsafe(BLOCK);
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, BLOCK, null).catch((error: unknown) => {
          throw ioError("read", path, error);
        });
        if (bytesRead === 0) return;
        yield buffer.subarray(0, bytesRead);
      }
    } finally {
      await handle.close();
    }
  }

  createWriter(path: string, mode = 0o644): Promise<FileWriter> {
    return io("create", path, async () => {
      const handle = await open(path, "w", mode);
      return {
        write: (data) =>
          io("write", path, async () => {
            let done = 0;
            while (done < data.length) done += (await handle.write(data, done)).bytesWritten;
          }),
        commit: () =>
          io("sync", path, async () => {
            await handle.sync();
            await handle.close();
          }),
        abort: () => handle.close().catch(() => undefined),
      };
    });
  }

  writeFile(path: string, data: Uint8Array): Promise<void> {
    return io("write", path, () => writeFile(path, data));
  }

  writeFileAtomic(path: string, data: Uint8Array, mode = 0o644): Promise<void> {
    return writeFileAtomicVia(this, path, data, mode);
  }

  /**
   * The file appears with its whole content or not at all: the data is written and synced under a unique
   * temp name, then hard-linked to `path` (link fails with EEXIST if `path` exists). A process killed
   * midway leaves at most the temp file, never an empty `path` (an empty lock would block every later run).
   */
  async createExclusive(path: string, data: Uint8Array): Promise<boolean> {
    // Not a `.tmp-<hex>` name: recovery sweeps those under the lock, and a contender's temp must survive
    // until its link() (a killed contender can leave this small file behind).
    const temp = `${path}.new-${process.pid}-${randomBytes(4).toString("hex")}`;
    try {
      const handle = await open(temp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o644);
      try {
        await handle.write(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      try {
        await link(temp, path);
        return true;
      } catch (error) {
        if (isCode(error, "EEXIST")) return false;
        throw error;
      }
    } catch (error) {
      throw ioError("create", path, error);
    } finally {
      await unlink(temp).catch((error: unknown) => {
        if (!isCode(error, "ENOENT")) throw ioError("delete", temp, error);
      });
    }
  }

  rename(from: string, to: string): Promise<void> {
    return io("rename", `${from} -> ${to}`, () => rename(from, to));
  }

  async writable(path: string): Promise<string | undefined> {
    try {
      await access(path, constants.W_OK);
      return undefined;
    } catch (error) {
      const code = (error as { code?: string } | null)?.code;
      if (code === "EACCES" || code === "EPERM" || code === "EROFS" || code === "ETXTBSY") return code;
      throw ioError("access", path, error);
    }
  }

  link(existing: string, path: string): Promise<void> {
    return io("link", `${existing} -> ${path}`, () => link(existing, path));
  }

  symlink(target: string, path: string): Promise<void> {
    // "file" matters on Windows only (where creating links needs a privilege or developer mode).
    return io("create link", path, () => symlink(target, path, "file"));
  }

  readlink(path: string): Promise<string> {
    return io("read link", path, () => readlink(path, "utf8"));
  }

  async unlink(path: string): Promise<void> {
    try {
      await unlink(path);
    } catch (error) {
      if (!isCode(error, "ENOENT")) throw ioError("delete", path, error);
    }
  }

  async mkdirp(path: string): Promise<void> {
    const first = await io("mkdir", path, () => mkdir(path, { recursive: true }));
    if (first === undefined) return;
    // A new directory's entry is durable only once its parent is fsynced: without this, a power loss
    // could drop e.g. staging/files/ with every staged file in it while the journal survives.
    for (let dir = path; ; dir = dirname(dir)) {
      await this.fsyncDir(dirname(dir));
      if (dir === first || dirname(dir) === dir) break;
    }
  }

  async rmdirIfEmpty(path: string): Promise<boolean> {
    try {
      await rmdir(path);
      return true;
    } catch (error) {
      if (isCode(error, "ENOTEMPTY", "EEXIST", "ENOENT", "ENOTDIR")) return false;
      throw ioError("rmdir", path, error);
    }
  }

  removeTree(path: string): Promise<void> {
    return io("remove", path, () => rm(path, { recursive: true, force: true }));
  }

  async readdir(path: string): Promise<string[]> {
    try {
      return await readdir(path);
    } catch (error) {
      if (isCode(error, "ENOENT")) return [];
      throw ioError("readdir", path, error);
    }
  }

  readdirBytes(path: string): Promise<Uint8Array[]> {
    return io("read directory", path, () => readdir(path, { encoding: "buffer" }));
  }

  chmod(path: string, mode: number): Promise<void> {
    return io("chmod", path, () => chmod(path, mode));
  }

  async fsyncDir(path: string): Promise<void> {
    if (process.platform === "win32") return; // directories cannot be opened for fsync on Windows
    const handle = await io("open directory", path, () => open(path, "r"));
    try {
      await handle.sync();
    } catch (error) {
      if (!isCode(error, "EINVAL", "EISDIR")) throw ioError("sync directory", path, error);
    } finally {
      await handle.close();
    }
  }

  async freeSpace(path: string): Promise<VolumeSpace> {
    // bavail, not bfree: blocks reserved for root are not available to the updater.
    const s = await io("statfs", path, () => statfs(path, { bigint: true }));
    const inodes = s.files > 0n ? { freeInodes: Number(s.ffree) } : {};
    return { available: Number(s.bavail * s.bsize), blockSize: Number(s.bsize), ...inodes };
  }
}
