import { basename, dirname, normalize } from "node:path";
import { ioError } from "../core/errors.js";
import type { FileStat, FileSystem, FileWriter, VolumeSpace } from "../ports/fs.js";

/**
 * An in-memory FileSystem that keeps the port's durability contract (src/ports/fs.ts) as a second,
 * durable view: file data becomes durable on a writer's commit, createExclusive or writeFileAtomic;
 * a directory entry on fsyncDir of its directory, or at once for directories mkdirp makes.
 * powerLoss() returns what a power cut would leave: only the durable view.
 * readdir answers in reverse creation order, so that a client relying on any order is caught.
 */
interface FileNode {
  readonly kind: "file";
  readonly ino: number;
  data: Uint8Array;
  mode: number;
  mtimeMs: number;
  /** What survives a power loss: the content and mode at the last sync (empty before any). */
  durable: { readonly data: Uint8Array; readonly mode: number };
}

interface DirNode {
  readonly kind: "directory";
  readonly ino: number;
  mtimeMs: number;
  readonly children: Map<string, Node>;
  /** The entries as of the last fsyncDir (what survives a power loss). */
  durableChildren: Map<string, Node>;
}

type Node = FileNode | DirNode;

export interface MemoryFileSystemOptions {
  /** Bytes the volume holds (freeSpace answers capacity minus the bytes of all files). Default 1 TiB. */
  readonly capacity?: number;
  readonly blockSize?: number;
  /** Modification times; default a counter, so that every change moves mtime forward. */
  readonly now?: () => number;
}

const BLOCK = 64 * 1024;

/** A Node-style system error, so that ioError reports the same systemCode as the Node adapter. */
function sysError(code: string, operation: string, path: string): Error {
  return Object.assign(new Error(`${code}: ${operation} '${path}'`), { code });
}

export class MemoryFileSystem implements FileSystem {
  private nextIno = 1;
  private tick = 0;
  private readonly root: DirNode;
  /** Calls of fsyncDir and writer commits (for tests counting syncs). */
  syncs = 0;

  constructor(private readonly options: MemoryFileSystemOptions = {}) {
    this.root = this.newDir();
  }

  private now(): number {
    return this.options.now?.() ?? ++this.tick;
  }

  private newDir(): DirNode {
    return {
      kind: "directory",
      ino: this.nextIno++,
      mtimeMs: this.now(),
      children: new Map(),
      durableChildren: new Map(),
    };
  }

  private newFile(mode: number): FileNode {
    const empty = new Uint8Array(0);
    return {
      kind: "file",
      ino: this.nextIno++,
      data: empty,
      mode,
      mtimeMs: this.now(),
      durable: { data: empty, mode },
    };
  }

  private parts(path: string): string[] {
    return normalize(path)
      .split("/")
      .filter((p) => p !== "");
  }

  private lookup(path: string): Node | undefined {
    let node: Node = this.root;
    for (const part of this.parts(path)) {
      if (node.kind !== "directory") return undefined;
      const next = node.children.get(part);
      if (!next) return undefined;
      node = next;
    }
    return node;
  }

  /** The directory that holds `path`'s entry, and the entry's name. */
  private parentOf(path: string, operation: string): { dir: DirNode; name: string } {
    const parent = this.lookup(dirname(normalize(path)));
    if (!parent) throw ioError(operation, path, sysError("ENOENT", operation, path));
    if (parent.kind !== "directory") throw ioError(operation, path, sysError("ENOTDIR", operation, path));
    return { dir: parent, name: basename(normalize(path)) };
  }

  private file(path: string, operation: string): FileNode {
    const node = this.lookup(path);
    if (!node) throw ioError(operation, path, sysError("ENOENT", operation, path));
    if (node.kind !== "file") throw ioError(operation, path, sysError("EISDIR", operation, path));
    return node;
  }

  /** Opens `path` for writing as open(path, "w") does: the existing file truncated, or a new one. */
  private openForWrite(path: string, mode: number, operation: string): FileNode {
    const { dir, name } = this.parentOf(path, operation);
    const existing = dir.children.get(name);
    if (existing?.kind === "directory") throw ioError(operation, path, sysError("EISDIR", operation, path));
    if (existing) {
      existing.data = new Uint8Array(0);
      existing.mtimeMs = this.now();
      return existing;
    }
    const file = this.newFile(mode);
    dir.children.set(name, file);
    dir.mtimeMs = this.now();
    return file;
  }

  async stat(path: string): Promise<FileStat | undefined> {
    const node = this.lookup(path);
    if (!node) return undefined;
    return {
      kind: node.kind,
      size: node.kind === "file" ? node.data.length : 0,
      mtimeMs: node.mtimeMs,
      ino: String(node.ino),
      executable: node.kind === "file" && (node.mode & 0o100) !== 0,
    };
  }

  async readFile(path: string): Promise<Uint8Array> {
    return new Uint8Array(this.file(path, "read").data);
  }

  async readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    return new Uint8Array(this.file(path, "read").data.subarray(offset, offset + length));
  }

  async *readBlocks(path: string): AsyncIterable<Uint8Array> {
    const file = this.file(path, "read");
    for (let at = 0; at < file.data.length; at += BLOCK)
      yield new Uint8Array(file.data.subarray(at, at + BLOCK));
  }

  async createWriter(path: string, mode = 0o644): Promise<FileWriter> {
    const file = this.openForWrite(path, mode, "create");
    let open = true;
    const closed = (operation: string) => ioError(operation, path, sysError("EBADF", operation, path));
    return {
      write: async (data) => {
        if (!open) throw closed("write");
        const next = new Uint8Array(file.data.length + data.length);
        next.set(file.data);
        next.set(data, file.data.length);
        file.data = next;
        file.mtimeMs = this.now();
      },
      commit: async () => {
        if (!open) throw closed("sync");
        open = false;
        this.syncs++;
        file.durable = { data: file.data, mode: file.mode };
      },
      abort: async () => {
        open = false;
      },
    };
  }

  async writeFile(path: string, data: Uint8Array): Promise<void> {
    const file = this.openForWrite(path, 0o644, "write");
    file.data = new Uint8Array(data);
  }

  async writeFileAtomic(path: string, data: Uint8Array, mode = 0o644): Promise<void> {
    const { dir, name } = this.parentOf(path, "write");
    if (dir.children.get(name)?.kind === "directory")
      throw ioError("rename", path, sysError("EISDIR", "rename", path));
    const file = this.newFile(mode);
    file.data = new Uint8Array(data);
    file.durable = { data: file.data, mode };
    dir.children.set(name, file);
    dir.durableChildren.set(name, file);
    dir.mtimeMs = this.now();
    this.syncs++;
  }

  async createExclusive(path: string, data: Uint8Array): Promise<boolean> {
    const { dir, name } = this.parentOf(path, "create");
    if (dir.children.has(name)) return false;
    const file = this.newFile(0o644);
    file.data = new Uint8Array(data);
    file.durable = { data: file.data, mode: file.mode };
    dir.children.set(name, file);
    dir.mtimeMs = this.now();
    return true;
  }

  async rename(from: string, to: string): Promise<void> {
    const what = `${from} -> ${to}`;
    const source = this.parentOf(from, "rename");
    const node = source.dir.children.get(source.name);
    if (!node) throw ioError("rename", what, sysError("ENOENT", "rename", from));
    const target = this.parentOf(to, "rename");
    const replaced = target.dir.children.get(target.name);
    if (replaced === node) return;
    if (node.kind === "directory") {
      if (this.isInside(node, to)) throw ioError("rename", what, sysError("EINVAL", "rename", to));
      if (replaced?.kind === "file") throw ioError("rename", what, sysError("ENOTDIR", "rename", to));
      if (replaced?.kind === "directory" && replaced.children.size > 0)
        throw ioError("rename", what, sysError("ENOTEMPTY", "rename", to));
    } else if (replaced?.kind === "directory") {
      throw ioError("rename", what, sysError("EISDIR", "rename", to));
    }
    source.dir.children.delete(source.name);
    target.dir.children.set(target.name, node);
    source.dir.mtimeMs = target.dir.mtimeMs = this.now();
  }

  /** Whether `path` names `dir` or lies below it (a directory cannot move into itself). */
  private isInside(dir: DirNode, path: string): boolean {
    let current: Node = this.root;
    for (const part of this.parts(path)) {
      if (current === dir) return true;
      if (current.kind !== "directory") return false;
      const next = current.children.get(part);
      if (!next) return false;
      current = next;
    }
    return current === dir;
  }

  async link(existing: string, path: string): Promise<void> {
    const what = `${existing} -> ${path}`;
    const node = this.lookup(existing);
    if (!node) throw ioError("link", what, sysError("ENOENT", "link", existing));
    if (node.kind !== "file") throw ioError("link", what, sysError("EPERM", "link", existing));
    const { dir, name } = this.parentOf(path, "link");
    if (dir.children.has(name)) throw ioError("link", what, sysError("EEXIST", "link", path));
    dir.children.set(name, node);
    dir.mtimeMs = this.now();
  }

  async unlink(path: string): Promise<void> {
    const parent = this.lookup(dirname(normalize(path)));
    if (parent?.kind !== "directory") return;
    const name = basename(normalize(path));
    const node = parent.children.get(name);
    if (!node) return;
    if (node.kind === "directory") throw ioError("delete", path, sysError("EISDIR", "unlink", path));
    parent.children.delete(name);
    parent.mtimeMs = this.now();
  }

  async mkdirp(path: string): Promise<void> {
    let dir = this.root;
    for (const part of this.parts(path)) {
      const next = dir.children.get(part);
      if (next?.kind === "file") throw ioError("mkdir", path, sysError("ENOTDIR", "mkdir", path));
      if (next) {
        dir = next;
        continue;
      }
      const made = this.newDir();
      // Durable on return (the contract): the parent's entry is synced with it.
      dir.children.set(part, made);
      dir.durableChildren.set(part, made);
      dir.mtimeMs = this.now();
      dir = made;
    }
  }

  async rmdirIfEmpty(path: string): Promise<boolean> {
    const node = this.lookup(path);
    if (node?.kind !== "directory" || node.children.size > 0 || node === this.root) return false;
    const { dir, name } = this.parentOf(path, "rmdir");
    dir.children.delete(name);
    dir.mtimeMs = this.now();
    return true;
  }

  async removeTree(path: string): Promise<void> {
    const parent = this.lookup(dirname(normalize(path)));
    if (parent?.kind !== "directory") return;
    if (parent.children.delete(basename(normalize(path)))) parent.mtimeMs = this.now();
  }

  async readdir(path: string): Promise<string[]> {
    const node = this.lookup(path);
    if (!node) return [];
    if (node.kind !== "directory") throw ioError("readdir", path, sysError("ENOTDIR", "readdir", path));
    return [...node.children.keys()].reverse();
  }

  /** Names as UTF-8 bytes (a memory file system stores strings); a missing directory is an error. */
  async readdirBytes(path: string): Promise<Uint8Array[]> {
    const node = this.lookup(path);
    if (!node) throw ioError("read directory", path, sysError("ENOENT", "read directory", path));
    if (node.kind !== "directory")
      throw ioError("read directory", path, sysError("ENOTDIR", "read directory", path));
    const encoder = new TextEncoder();
    return [...node.children.keys()].reverse().map((name) => encoder.encode(name));
  }

  async chmod(path: string, mode: number): Promise<void> {
    const node = this.lookup(path);
    if (!node) throw ioError("chmod", path, sysError("ENOENT", "chmod", path));
    if (node.kind === "file") node.mode = mode;
  }

  async fsyncDir(path: string): Promise<void> {
    const node = this.lookup(path);
    if (!node) throw ioError("open directory", path, sysError("ENOENT", "open", path));
    this.syncs++;
    if (node.kind === "directory") node.durableChildren = new Map(node.children);
    else node.durable = { data: node.data, mode: node.mode }; // fsync of the open file, as on Node
  }

  async freeSpace(path: string): Promise<VolumeSpace> {
    if (!this.lookup(path)) throw ioError("statfs", path, sysError("ENOENT", "statfs", path));
    const blockSize = this.options.blockSize ?? 4096;
    let used = 0;
    const seen = new Set<number>();
    const walk = (dir: DirNode): void => {
      for (const node of dir.children.values()) {
        if (seen.has(node.ino)) continue;
        seen.add(node.ino);
        if (node.kind === "directory") walk(node);
        else used += Math.ceil(node.data.length / blockSize) * blockSize;
      }
    };
    walk(this.root);
    return { available: Math.max(0, (this.options.capacity ?? 2 ** 40) - used), blockSize };
  }

  /**
   * The file system a power cut would leave now: entries as of their directory's last fsync (or
   * mkdirp), files with their last synced content and mode. This instance is unchanged.
   */
  powerLoss(): MemoryFileSystem {
    const after = new MemoryFileSystem(this.options);
    const copies = new Map<number, Node>();
    const copy = (node: Node): Node => {
      const done = copies.get(node.ino);
      if (done) return done;
      let made: Node;
      if (node.kind === "file") {
        made = { ...node, data: node.durable.data, mode: node.durable.mode };
      } else {
        const children = new Map<string, Node>();
        made = { ...node, children, durableChildren: children };
        copies.set(node.ino, made);
        for (const [name, child] of node.durableChildren) children.set(name, copy(child));
        made.durableChildren = new Map(children);
      }
      copies.set(node.ino, made);
      return made;
    };
    const root = copy(this.root) as DirNode;
    after.root.children.clear();
    for (const [name, child] of root.children) after.root.children.set(name, child);
    after.root.durableChildren = new Map(after.root.children);
    after.nextIno = this.nextIno;
    after.tick = this.tick;
    return after;
  }
}
