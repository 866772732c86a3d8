import { join } from "node:path";
import { FerryError, ioError } from "../core/errors.js";
import { followLinks, linkTargetProblem } from "../core/links.js";
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
  /** A symbolic link's relative target (then size 0, executable false; the link is never followed). */
  readonly link?: string;
  /** FileStat.identity and changedMs at the scan (the publisher's stat cache), when the file system gives them. */
  readonly identity?: string;
  readonly changedMs?: number;
}

export interface ScanOptions {
  /** Entries (files or whole directories) whose name this returns true for are left out of the scan. */
  readonly skipName?: (name: string) => boolean;
  /**
   * Publish relative links whose target is inside the build as links (feature "symlinks"). Without it
   * (Cocos manifests, mounted directories) any link is refused with E_SYMLINK.
   */
  readonly links?: boolean;
  /** Where the build is read from (default: the local disk). */
  readonly fs?: FileSystem;
}

/**
 * Lists every regular file and symbolic link under `root`, sorted by release path. Links are never
 * followed, and refused unless relative and inside the build; special files are refused; any unreadable entry fails the scan: a partial release is never published.
 */
export async function scanBuildDirectory(root: string, options: ScanOptions = {}): Promise<ScannedFile[]> {
  const fs = options.fs ?? new NodeFileSystem();
  const files: ScannedFile[] = [];
  async function walk(dir: string, prefix: string): Promise<void> {
    const raw = await fs.readdirBytes(dir);
    const names = raw.map((bytes) => utf8Name(bytes, dir, prefix)).filter((n) => !options.skipName?.(n));
    // Stats of one directory run concurrently (STAT_CONCURRENCY): one at a time, a 100,000-file build
    // waited for 100,000 round trips through the thread pool.
    const allStats = await mapConcurrently(names, STAT_CONCURRENCY, async (name) => {
      const absolute = join(dir, name);
      try {
        return await fs.stat(absolute);
      } catch (cause) {
        throw ioError("stat", absolute, cause);
      }
    });
    for (const [i, name] of names.entries()) {
      const absolute = join(dir, name);
      const path = prefix + name.normalize("NFC");
      const stats: FileStat | undefined = allStats[i];
      // Listed a moment ago and gone now: the build changed under the scan.
      if (stats === undefined)
        throw ioError(
          "stat",
          absolute,
          Object.assign(new Error("ENOENT: no such file or directory"), { code: "ENOENT" }),
        );
      if (stats.kind === "symlink") {
        if (!options.links)
          throw new FerryError(
            "E_SYMLINK",
            `${absolute} is a symbolic link. This command reads regular files only and never follows links; replace the link with the file it points to.`,
            { path: absolute },
          );
        files.push({ path, absolute, size: 0, executable: false, link: await readLink(fs, absolute) });
        continue;
      }
      if (stats.kind === "directory") await walk(absolute, path + "/");
      else if (stats.kind === "file")
        files.push({
          path,
          absolute,
          size: stats.size,
          executable: stats.executable,
          ...(stats.identity === undefined ? {} : { identity: stats.identity }),
          ...(stats.changedMs === undefined ? {} : { changedMs: stats.changedMs }),
        });
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
  assertLinksInside(files);
  return files;
}

const STAT_CONCURRENCY = 16;

/** `fn` over `items`, at most `limit` at a time; results in input order. */
async function mapConcurrently<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

async function readLink(fs: FileSystem, absolute: string): Promise<string> {
  if (!fs.readlink)
    throw new FerryError(
      "E_SYMLINK",
      `${absolute} is a symbolic link, and this file system cannot read links.`,
      {
        path: absolute,
      },
    );
  try {
    return await fs.readlink(absolute);
  } catch (cause) {
    throw ioError("read link", absolute, cause);
  }
}

/**
 * A link is published only when it is relative and resolves, lexically, to a file, a directory or
 * another link of the release: a link that points outside the build (or at nothing) would mean
 * something different on every player's machine.
 */
function assertLinksInside(files: readonly ScannedFile[]): void {
  const entries = new Set<string>();
  const links = new Map<string, string>();
  for (const f of files) {
    const segments = f.path.split("/");
    for (let i = 1; i <= segments.length; i++) entries.add(segments.slice(0, i).join("/"));
    if (f.link !== undefined) links.set(f.path, f.link);
  }
  for (const f of files) {
    if (f.link === undefined) continue;
    const problem = linkTargetProblem(f.path, f.link);
    let reason: string | undefined;
    if ("reason" in problem) reason = problem.reason;
    else {
      const end = followLinks(problem.resolved, links);
      if (end === undefined) reason = "following it loops (a chain of links that never ends)";
      else if (!entries.has(end) || links.has(end))
        reason = `it points to ${JSON.stringify(end)}, which is not in the build`;
    }
    if (reason === undefined) continue;
    throw new FerryError(
      "E_SYMLINK",
      `${f.absolute} is a symbolic link to ${JSON.stringify(f.link)} that Ferry cannot publish: ${reason}. Ferry publishes relative links whose target is inside the build (and never follows links); make the link relative and inside the build, or replace it with the file it points to.`,
      { path: f.absolute, target: f.link, reason },
    );
  }
}
