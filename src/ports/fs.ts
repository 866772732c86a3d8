/**
 * The file-system port: all installer I/O goes through it, so tests can record or fault it.
 * Paths are absolute native paths. Methods throw FerryError E_IO (or pass through FerryError).
 * Durability contract (what a power loss may undo): file data is durable after a writer's commit or
 * createExclusive; a directory entry (create, rename, unlink) after fsyncDir of its directory, except
 * directories made by mkdirp, which are durable on return. writeFile data is never durable by itself.
 */
export interface FileStat {
  readonly kind: "file" | "directory" | "symlink" | "other";
  readonly size: number;
  readonly mtimeMs: number;
  /** Inode (file id) as a decimal string: NTFS and network file ids exceed 2^53. */
  readonly ino: string;
  readonly executable: boolean;
  /**
   * Changes whenever the file may have (device, inode, size, mtime and ctime at the file system's
   * precision): the publisher's stat cache trusts what it read earlier only while this is equal.
   * Absent when the file system cannot tell.
   */
  readonly identity?: string;
  /** The later of mtime and ctime, in ms (with `identity`): how recent the last change is. */
  readonly changedMs?: number;
}

export interface VolumeSpace {
  /** Bytes an unprivileged process may still write (statfs bavail × bsize). */
  readonly available: number;
  /** Allocation unit: every file occupies a whole number of blocks. */
  readonly blockSize: number;
  /** Inodes (files and directories) that may still be created; absent when the volume has no fixed count. */
  readonly freeInodes?: number;
}

export interface FileWriter {
  write(data: Uint8Array): Promise<void>;
  /** fsync then close. */
  commit(): Promise<void>;
  /** Close without syncing (on failure paths). */
  abort(): Promise<void>;
}

export interface FileSystem {
  /** lstat: never follows a symlink; undefined when the path does not exist. */
  stat(path: string): Promise<FileStat | undefined>;
  readFile(path: string): Promise<Uint8Array>;
  readRange(path: string, offset: number, length: number): Promise<Uint8Array>;
  /**
   * Streams a file in blocks; memory stays bounded whatever the file size. A block is valid only until
   * the next one is requested (the adapter may reuse its buffer): consume or copy it first.
   */
  readBlocks(path: string): AsyncIterable<Uint8Array>;
  createWriter(path: string, mode?: number): Promise<FileWriter>;
  /** Plain write, no fsync: for data that is re-verified before use (staged chunks). */
  writeFile(path: string, data: Uint8Array): Promise<void>;
  /** Temp file + fsync + rename + directory fsync. */
  writeFileAtomic(path: string, data: Uint8Array, mode?: number): Promise<void>;
  /** Creates the file only if absent; false when it exists. */
  createExclusive(path: string, data: Uint8Array): Promise<boolean>;
  rename(from: string, to: string): Promise<void>;
  /**
   * Why this process may not change `path` (access W_OK: "EACCES", "EPERM" for an immutable file, "EROFS"),
   * or undefined when it may. Optional: without it nothing is known in advance.
   */
  writable?(path: string): Promise<string | undefined>;
  /**
   * Hard link: `path` becomes a second name of the file `existing` (fails if `path` exists). Optional:
   * callers fall back to what they did without it (a volume without hard links, a test double).
   */
  link?(existing: string, path: string): Promise<void>;
  /**
   * Symbolic links (releases with the "symlinks" feature). `symlink` creates `path` pointing at the
   * relative `target` (fails if `path` exists); `readlink` returns the target of the link at `path`.
   * Optional: a file system without links (OPFS, a test double) installs no release that has them.
   */
  symlink?(target: string, path: string): Promise<void>;
  readlink?(path: string): Promise<string>;
  unlink(path: string): Promise<void>;
  /** Creates missing directories; those it created are durable (parents fsynced) when it returns. */
  mkdirp(path: string): Promise<void>;
  /** Removes an empty directory; false when it is not empty or absent. */
  rmdirIfEmpty(path: string): Promise<boolean>;
  removeTree(path: string): Promise<void>;
  readdir(path: string): Promise<string[]>;
  /**
   * A directory's entry names as the bytes the file system stores, undecoded, so that a caller can refuse
   * a name that is not valid UTF-8 instead of reading a re-spelled one (the publisher's build scan).
   * Unlike readdir, a missing or unreadable directory is an error (E_IO "read directory").
   */
  readdirBytes(path: string): Promise<Uint8Array[]>;
  chmod(path: string, mode: number): Promise<void>;
  fsyncDir(path: string): Promise<void>;
  /** Free space on the volume holding `path` (an existing path). */
  freeSpace(path: string): Promise<VolumeSpace>;
}
