import type { FileStat, FileSystem, FileWriter, VolumeSpace } from "../ports/fs.js";
import { ioError } from "../core/errors.js";
import { writeFileAtomicVia } from "./atomic-write.js";

/**
 * A FileSystem that forwards every call to `inner`: the base of wrappers that change one concern
 * (rename retries, recording, fault injection). writeFileAtomic is composed from this object's own
 * primitives, so a wrapper sees (and may change) each of its steps.
 */
export class ForwardingFileSystem implements FileSystem {
  /** Present exactly when `inner` has links, so callers can tell a file system without them. */
  readonly symlink?: (target: string, path: string) => Promise<void>;
  readonly readlink?: (path: string) => Promise<string>;

  constructor(protected readonly inner: FileSystem) {
    if (inner.symlink) this.symlink = (target, path) => inner.symlink!(target, path);
    if (inner.readlink) this.readlink = (path) => inner.readlink!(path);
  }
  stat(path: string): Promise<FileStat | undefined> {
    return this.inner.stat(path);
  }
  readFile(path: string): Promise<Uint8Array> {
    return this.inner.readFile(path);
  }
  readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    return this.inner.readRange(path, offset, length);
  }
  readBlocks(path: string): AsyncIterable<Uint8Array> {
    return this.inner.readBlocks(path);
  }
  createWriter(path: string, mode?: number): Promise<FileWriter> {
    return this.inner.createWriter(path, mode);
  }
  writeFile(path: string, data: Uint8Array): Promise<void> {
    return this.inner.writeFile(path, data);
  }
  writeFileAtomic(path: string, data: Uint8Array, mode?: number): Promise<void> {
    return writeFileAtomicVia(this, path, data, mode);
  }
  createExclusive(path: string, data: Uint8Array): Promise<boolean> {
    return this.inner.createExclusive(path, data);
  }
  rename(from: string, to: string): Promise<void> {
    return this.inner.rename(from, to);
  }
  /** Forwarded when `inner` can tell; otherwise nothing is known (undefined). */
  writable(path: string): Promise<string | undefined> {
    return this.inner.writable ? this.inner.writable(path) : Promise.resolve(undefined);
  }
  /** Forwarded when `inner` has hard links; otherwise fails as an unsupported operation (ENOTSUP). */
  link(existing: string, path: string): Promise<void> {
    if (!this.inner.link) {
      const cause = Object.assign(new Error("hard links are not supported here"), { code: "ENOTSUP" });
      return Promise.reject(ioError("link", `${existing} -> ${path}`, cause));
    }
    return this.inner.link(existing, path);
  }
  unlink(path: string): Promise<void> {
    return this.inner.unlink(path);
  }
  mkdirp(path: string): Promise<void> {
    return this.inner.mkdirp(path);
  }
  rmdirIfEmpty(path: string): Promise<boolean> {
    return this.inner.rmdirIfEmpty(path);
  }
  removeTree(path: string): Promise<void> {
    return this.inner.removeTree(path);
  }
  readdir(path: string): Promise<string[]> {
    return this.inner.readdir(path);
  }

  readdirBytes(path: string): Promise<Uint8Array[]> {
    return this.inner.readdirBytes(path);
  }
  chmod(path: string, mode: number): Promise<void> {
    return this.inner.chmod(path, mode);
  }
  fsyncDir(path: string): Promise<void> {
    return this.inner.fsyncDir(path);
  }
  freeSpace(path: string): Promise<VolumeSpace> {
    return this.inner.freeSpace(path);
  }
}
