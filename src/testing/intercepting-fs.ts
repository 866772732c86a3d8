import { ForwardingFileSystem } from "../node/forwarding-fs.js";
import type { FileStat, FileWriter, VolumeSpace } from "../ports/fs.js";

/** Names of the primitive calls a wrapper sees (writeFileAtomic is composed of them). */
export type FsCall =
  | "stat"
  | "readFile"
  | "readRange"
  | "readBlocks"
  | "createWriter"
  | "write"
  | "commit"
  | "writeFile"
  | "createExclusive"
  | "rename"
  | "link"
  | "writable"
  | "unlink"
  | "mkdirp"
  | "rmdirIfEmpty"
  | "removeTree"
  | "readdir"
  | "chmod"
  | "fsyncDir"
  | "freeSpace";

/**
 * A forwarding file system that passes every primitive call (writer calls included, aborts excepted:
 * they are the failure path) through one `intercept` hook: the base of the test wrappers.
 */
export abstract class InterceptingFileSystem extends ForwardingFileSystem {
  protected abstract intercept<T>(call: FsCall, path: string, run: () => Promise<T>): Promise<T>;

  override stat(path: string): Promise<FileStat | undefined> {
    return this.intercept("stat", path, () => super.stat(path));
  }
  override readFile(path: string): Promise<Uint8Array> {
    return this.intercept("readFile", path, () => super.readFile(path));
  }
  override readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    return this.intercept("readRange", path, () => super.readRange(path, offset, length));
  }
  override async *readBlocks(path: string): AsyncIterable<Uint8Array> {
    const blocks = await this.intercept("readBlocks", path, () => Promise.resolve(super.readBlocks(path)));
    yield* blocks;
  }
  override async createWriter(path: string, mode?: number): Promise<FileWriter> {
    const writer = await this.intercept("createWriter", path, () => super.createWriter(path, mode));
    return {
      write: (data) => this.intercept("write", path, () => writer.write(data)),
      commit: () => this.intercept("commit", path, () => writer.commit()),
      abort: () => writer.abort(),
    };
  }
  override writeFile(path: string, data: Uint8Array): Promise<void> {
    return this.intercept("writeFile", path, () => super.writeFile(path, data));
  }
  override createExclusive(path: string, data: Uint8Array): Promise<boolean> {
    return this.intercept("createExclusive", path, () => super.createExclusive(path, data));
  }
  override rename(from: string, to: string): Promise<void> {
    return this.intercept("rename", from, () => super.rename(from, to));
  }
  override writable(path: string): Promise<string | undefined> {
    return this.intercept("writable", path, () => super.writable(path));
  }
  override link(existing: string, path: string): Promise<void> {
    return this.intercept("link", path, () => super.link(existing, path));
  }
  override unlink(path: string): Promise<void> {
    return this.intercept("unlink", path, () => super.unlink(path));
  }
  override mkdirp(path: string): Promise<void> {
    return this.intercept("mkdirp", path, () => super.mkdirp(path));
  }
  override rmdirIfEmpty(path: string): Promise<boolean> {
    return this.intercept("rmdirIfEmpty", path, () => super.rmdirIfEmpty(path));
  }
  override removeTree(path: string): Promise<void> {
    return this.intercept("removeTree", path, () => super.removeTree(path));
  }
  override readdir(path: string): Promise<string[]> {
    return this.intercept("readdir", path, () => super.readdir(path));
  }
  override chmod(path: string, mode: number): Promise<void> {
    return this.intercept("chmod", path, () => super.chmod(path, mode));
  }
  override fsyncDir(path: string): Promise<void> {
    return this.intercept("fsyncDir", path, () => super.fsyncDir(path));
  }
  override freeSpace(path: string): Promise<VolumeSpace> {
    return this.intercept("freeSpace", path, () => super.freeSpace(path));
  }
}
