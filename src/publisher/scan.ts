import { join } from "node:path";
import { FerryError, ioError } from "../core/errors.js";
import { assertSafePathSet, comparePaths } from "../core/paths.js";
import { latin1 } from "../core/bytes.js";
import { NodeFileSystem } from "../node/node-fs.js";
import type { FileStat, FileSystem } from "../ports/fs.js";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A directory entry's name, which must be valid UTF-8: decoding leniently would turn two different
 * names into the same U+FFFD spelling, and the release path would not name the file on disk.
 */
function utf8Name(bytes: Uint8Array, dir: string, prefix: string): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    const shown = prefix + latin1(bytes);
    throw new FerryError(
      "E_UNSAFE_PATH",
      `Unsafe path ${JSON.stringify(shown)} in build directory ${dir}: the name is not valid UTF-8 [rule invalid-utf8]. Rename the file; Ferry only accepts portable relative paths.`,
      { path: shown, rule: "invalid-utf8", reason: "the name is not valid UTF-8", context: dir },
    );
  }
}

export interface ScannedFile {
  readonly path: string;
  readonly absolute: string;
  readonly size: number;
  readonly executable: boolean;
}

export interface ScanOptions {
  /** Entries (files or whole directories) whose name this returns true for are left out of the scan. */
  readonly skipName?: (name: string) => boolean;
  /** Where the build is read from (default: the local disk). */
  readonly fs?: FileSystem;
}

/**
 * Lists every regular file under `root`, sorted by release path. Symlinks and special files are refused
 * (never followed); any unreadable entry fails the scan: a partial release is never published.
 */
export async function scanBuildDirectory(root: string, options: ScanOptions = {}): Promise<ScannedFile[]> {
  const fs = options.fs ?? new NodeFileSystem();
  const files: ScannedFile[] = [];
  async function walk(dir: string, prefix: string): Promise<void> {
    const raw = await fs.readdirBytes(dir);
    for (const bytes of raw) {
      const name = utf8Name(bytes, dir, prefix);
      if (options.skipName?.(name)) continue;
      const absolute = join(dir, name);
      const path = prefix + name.normalize("NFC");
      let stats: FileStat | undefined;
      try {
        stats = await fs.stat(absolute);
      } catch (cause) {
        throw ioError("stat", absolute, cause);
      }
      // Listed a moment ago and gone now: the build changed under the scan.
      if (stats === undefined)
        throw ioError(
          "stat",
          absolute,
          Object.assign(new Error("ENOENT: no such file or directory"), { code: "ENOENT" }),
        );
      if (stats.kind === "symlink") {
        throw new FerryError(
          "E_SYMLINK",
          `${absolute} is a symbolic link. Ferry publishes regular files only and never follows links; replace the link with the file it points to.`,
          { path: absolute },
        );
      }
      if (stats.kind === "directory") await walk(absolute, path + "/");
      else if (stats.kind === "file")
        files.push({ path, absolute, size: stats.size, executable: stats.executable });
      else
        throw new FerryError(
          "E_IO",
          `${absolute} is not a regular file or directory (a socket, FIFO or device); remove it from the build.`,
          { path: absolute },
        );
    }
  }
  await walk(root, "");
  files.sort((a, b) => comparePaths(a.path, b.path));
  assertSafePathSet(
    files.map((f) => f.path),
    `build directory ${root}`,
  );
  return files;
}
