import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import { FerryError, ioError } from "../core/errors.js";
import { assertSafePathSet, comparePaths } from "../core/paths.js";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A directory entry's name, which must be valid UTF-8: decoding leniently would turn two different
 * names into the same U+FFFD spelling, and the release path would not name the file on disk.
 */
function utf8Name(bytes: Buffer, dir: string, prefix: string): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    const shown = prefix + bytes.toString("latin1");
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
}

/**
 * Lists every regular file under `root`, sorted by release path. Symlinks and special files are refused
 * (never followed); any unreadable entry fails the scan: a partial release is never published.
 */
export async function scanBuildDirectory(root: string, options: ScanOptions = {}): Promise<ScannedFile[]> {
  const files: ScannedFile[] = [];
  async function walk(dir: string, prefix: string): Promise<void> {
    let raw: Buffer[];
    try {
      raw = await readdir(dir, { encoding: "buffer" });
    } catch (cause) {
      throw ioError("read directory", dir, cause);
    }
    for (const bytes of raw) {
      const name = utf8Name(bytes, dir, prefix);
      if (options.skipName?.(name)) continue;
      const absolute = join(dir, name);
      const path = prefix + name.normalize("NFC");
      let stats: Awaited<ReturnType<typeof lstat>>;
      try {
        stats = await lstat(absolute);
      } catch (cause) {
        throw ioError("stat", absolute, cause);
      }
      if (stats.isSymbolicLink()) {
        throw new FerryError(
          "E_SYMLINK",
          `${absolute} is a symbolic link. Ferry publishes regular files only and never follows links; replace the link with the file it points to.`,
          { path: absolute },
        );
      }
      if (stats.isDirectory()) await walk(absolute, path + "/");
      else if (stats.isFile())
        files.push({ path, absolute, size: stats.size, executable: (stats.mode & 0o100) !== 0 });
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
