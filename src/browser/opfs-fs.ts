import { FerryError } from "../core/errors.js";
import type { FileStat, FileSystem, FileWriter, VolumeSpace } from "../ports/fs.js";

/**
 * The file-system port over the origin private file system (OPFS), for the parts of the client the
 * browser runtime reuses (chunk fetcher, file assembly, delta apply). Paths are '/'-separated from the
 * OPFS root. A writer writes through `createWritable()`, whose data becomes visible only on close (the
 * browser writes a swap file and swaps it in); `rename` is FileSystemHandle.move where the browser has it,
 * else a copy through such a writer and a delete. No links, modes or inodes: those methods refuse.
 */
export class OpfsFileSystem implements FileSystem {
  constructor(private readonly root: Promise<FileSystemDirectoryHandle> = navigator.storage.getDirectory()) {}

  private async dir(parts: readonly string[], create: boolean): Promise<FileSystemDirectoryHandle> {
    let dir = await this.root;
    for (const part of parts) dir = await dir.getDirectoryHandle(part, { create });
    return dir;
  }

  private async parent(
    path: string,
    create = false,
  ): Promise<{ dir: FileSystemDirectoryHandle; name: string }> {
    const parts = split(path);
    const name = parts.pop();
    if (name === undefined) throw opfsError("open", path, new Error("the root has no parent"));
    return { dir: await this.dir(parts, create), name };
  }

  private async file(path: string): Promise<File> {
    try {
      const { dir, name } = await this.parent(path);
      return await (await dir.getFileHandle(name)).getFile();
    } catch (cause) {
      throw opfsError("read", path, cause);
    }
  }

  async stat(path: string): Promise<FileStat | undefined> {
    try {
      const { dir, name } = await this.parent(path);
      try {
        const file = await (await dir.getFileHandle(name)).getFile();
        return { kind: "file", size: file.size, mtimeMs: file.lastModified, ino: "0", executable: false };
      } catch (error) {
        if (!isName(error, "TypeMismatchError")) throw error;
        await dir.getDirectoryHandle(name);
        return { kind: "directory", size: 0, mtimeMs: 0, ino: "0", executable: false };
      }
    } catch (error) {
      if (isName(error, "NotFoundError") || isName(error, "TypeMismatchError")) return undefined;
      throw opfsError("stat", path, error);
    }
  }

  async readFile(path: string): Promise<Uint8Array> {
    return new Uint8Array(await (await this.file(path)).arrayBuffer());
  }

  async readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    const file = await this.file(path);
    return new Uint8Array(await file.slice(offset, offset + length).arrayBuffer());
  }

  async *readBlocks(path: string): AsyncIterable<Uint8Array> {
    const file = await this.file(path);
    const block = 1024 * 1024;
    for (let at = 0; at < file.size; at += block) {
      yield new Uint8Array(await file.slice(at, at + block).arrayBuffer());
    }
  }

  async createWriter(path: string): Promise<FileWriter> {
    let stream: FileSystemWritableFileStream;
    try {
      const { dir, name } = await this.parent(path, true);
      stream = await (await dir.getFileHandle(name, { create: true })).createWritable();
    } catch (cause) {
      throw opfsError("create", path, cause);
    }
    return {
      write: async (data) => {
        try {
          await stream.write(data as Uint8Array<ArrayBuffer>);
        } catch (cause) {
          await stream.abort().catch(() => undefined);
          throw opfsError("write", path, cause);
        }
      },
      commit: async () => {
        try {
          await stream.close();
        } catch (cause) {
          throw opfsError("write", path, cause);
        }
      },
      abort: async () => {
        await stream.abort().catch(() => undefined);
      },
    };
  }

  async writeFile(path: string, data: Uint8Array): Promise<void> {
    const writer = await this.createWriter(path);
    await writer.write(data);
    await writer.commit();
  }

  writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
    return this.writeFile(path, data); // createWritable swaps the whole file in on close
  }

  async createExclusive(path: string, data: Uint8Array): Promise<boolean> {
    if (await this.stat(path)) return false;
    await this.writeFile(path, data);
    return true;
  }

  async rename(from: string, to: string): Promise<void> {
    try {
      const source = await this.parent(from);
      const target = await this.parent(to, true);
      const handle = await source.dir.getFileHandle(source.name);
      const movable = handle as FileSystemFileHandle & {
        move?: (dir: FileSystemDirectoryHandle, name: string) => Promise<void>;
      };
      if (typeof movable.move === "function") {
        await movable.move(target.dir, target.name);
        return;
      }
      const stream = await (await target.dir.getFileHandle(target.name, { create: true })).createWritable();
      await stream.write(await handle.getFile());
      await stream.close();
      await source.dir.removeEntry(source.name);
    } catch (cause) {
      throw opfsError("rename", `${from} -> ${to}`, cause);
    }
  }

  async unlink(path: string): Promise<void> {
    try {
      const { dir, name } = await this.parent(path);
      await dir.removeEntry(name);
    } catch (cause) {
      if (isName(cause, "NotFoundError")) return;
      throw opfsError("unlink", path, cause);
    }
  }

  async mkdirp(path: string): Promise<void> {
    try {
      await this.dir(split(path), true);
    } catch (cause) {
      throw opfsError("mkdir", path, cause);
    }
  }

  async rmdirIfEmpty(path: string): Promise<boolean> {
    if ((await this.readdir(path)).length > 0) return false;
    await this.removeTree(path);
    return true;
  }

  async removeTree(path: string): Promise<void> {
    try {
      const { dir, name } = await this.parent(path);
      await dir.removeEntry(name, { recursive: true });
    } catch (cause) {
      if (isName(cause, "NotFoundError")) return;
      throw opfsError("remove", path, cause);
    }
  }

  async readdir(path: string): Promise<string[]> {
    let dir: FileSystemDirectoryHandle;
    try {
      dir = await this.dir(split(path), false);
    } catch (error) {
      if (isName(error, "NotFoundError")) return [];
      throw opfsError("read directory", path, error);
    }
    const names: string[] = [];
    for await (const name of (dir as unknown as { keys(): AsyncIterable<string> }).keys()) names.push(name);
    return names.sort();
  }

  async readdirBytes(path: string): Promise<Uint8Array[]> {
    return (await this.readdir(path)).map((name) => new TextEncoder().encode(name));
  }

  async chmod(): Promise<void> {
    // OPFS has no modes; the runtime serves files, it never executes them.
  }

  async fsyncDir(): Promise<void> {
    // OPFS entries are durable when the call that made them resolves.
  }

  async freeSpace(): Promise<VolumeSpace> {
    const { quota = 0, usage = 0 } = await navigator.storage.estimate();
    return { available: Math.max(0, quota - usage), blockSize: 1 };
  }
}

function split(path: string): string[] {
  return path.split("/").filter((part) => part !== "" && part !== ".");
}

function isName(error: unknown, name: string): boolean {
  return typeof error === "object" && error !== null && (error as { name?: unknown }).name === name;
}

/** OPFS failures as the port's errors; a full quota is E_NO_SPACE (nothing half-committed: see docs/WEB.md). */
export function opfsError(operation: string, path: string, cause: unknown): FerryError {
  if (cause instanceof FerryError) return cause;
  const name = (cause as { name?: string } | null)?.name ?? "Error";
  const message = (cause as Error | null)?.message ?? String(cause);
  if (name === "QuotaExceededError") {
    return new FerryError(
      "E_NO_SPACE",
      `The browser's storage quota for this site is used up (${operation} ${path}): nothing was committed, the stored release is unchanged. Free space (other sites' data, browser settings) or ask for persistent storage, then update again.`,
      { path, needed: 0, available: 0 },
      { cause },
    );
  }
  return new FerryError(
    "E_IO",
    `Cannot ${operation} ${path} in the browser's origin private file system (${name}: ${message}). The site's storage may have been cleared or the browser refuses storage here (private window?).`,
    { path, operation },
    { cause },
  );
}
