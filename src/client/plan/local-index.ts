import { Chunker, type ChunkingParams } from "../../core/chunker.js";
import type { Crypto } from "../../ports/crypto.js";
import type { Manifest } from "../../core/manifest.js";
import type { LocalFile } from "../../core/planner.js";
import type { FileStat, FileSystem } from "../../ports/fs.js";
import type { InstallLayout } from "../install/layout.js";
import type { StatCacheEntry } from "../install/state.js";
import { checkLinks, linkHash, readLinkTarget } from "./links.js";

export interface HashedFile {
  readonly sha256: string;
  readonly size: number;
  readonly chunks: [string, number][];
}

/** Hashes a file and cuts it with `chunking`, streaming (bounded memory). */
export async function hashFile(
  fs: FileSystem,
  path: string,
  chunking: ChunkingParams,
  crypto: Crypto,
): Promise<HashedFile> {
  const chunker = new Chunker(chunking);
  const whole = crypto.createSha256();
  const chunks: [string, number][] = [];
  for await (const block of fs.readBlocks(path)) {
    whole.update(block);
    for (const c of chunker.push(block)) chunks.push([await crypto.sha256(c), c.length]);
  }
  for (const c of chunker.finish()) chunks.push([await crypto.sha256(c), c.length]);
  return { sha256: await whole.digest(), size: whole.length, chunks };
}

export function statMatches(stat: FileStat, cached: StatCacheEntry | undefined): boolean {
  return (
    cached !== undefined &&
    stat.size === cached.size &&
    Math.floor(stat.mtimeMs) === cached.mtimeMs &&
    stat.ino === cached.ino
  );
}

export function cacheEntry(stat: FileStat): StatCacheEntry {
  return { size: stat.size, mtimeMs: Math.floor(stat.mtimeMs), ino: stat.ino };
}

export interface LocalIndex {
  readonly files: LocalFile[];
  /** Current stat of every file the index describes (for the next state's stat cache). */
  readonly stats: Map<string, FileStat>;
  readonly hashedBytes: number;
}

/**
 * What is on disk, as the planner needs it. Installed files whose stat matches the cache are trusted
 * to be what the installed manifest says; any other file at an installed or target path is re-hashed
 * (this is also how an install without Ferry state is adopted). A symlink is read (its target) only where
 * a release has a link; otherwise it is an obstacle the commit moves aside, never followed.
 */
export async function buildLocalIndex(
  fs: FileSystem,
  layout: InstallLayout,
  installed: Manifest | undefined,
  statCache: Readonly<Record<string, StatCacheEntry>>,
  target: Manifest,
  crypto: Crypto,
): Promise<LocalIndex> {
  await checkLinks(fs, crypto, target.files);
  const installedByPath = new Map((installed?.files ?? []).map((f) => [f.path, f]));
  const paths = new Set([...installedByPath.keys(), ...target.files.map((f) => f.path)]);
  const files: LocalFile[] = [];
  const stats = new Map<string, FileStat>();
  let hashedBytes = 0;
  const links = new Set(
    [...(installed?.files ?? []), ...target.files].filter((f) => f.link !== undefined).map((f) => f.path),
  );
  for (const path of [...paths].sort()) {
    const stat = await fs.stat(layout.file(path));
    if (stat?.kind === "symlink" && links.has(path)) {
      // A link is known by its target, read each time (a readlink costs less than a stat-cache entry).
      const link = await readLinkTarget(fs, layout.file(path));
      if (link === undefined) continue;
      stats.set(path, stat);
      const tracked = installedByPath.get(path)?.link !== undefined;
      const sha256 = await linkHash(crypto, link);
      files.push({ path, sha256, size: 0, executable: false, link, tracked, chunks: [] });
      continue;
    }
    if (stat?.kind !== "file") continue;
    stats.set(path, stat);
    const entry = installedByPath.get(path);
    const tracked = entry !== undefined;
    if (entry && statMatches(stat, statCache[path])) {
      files.push({
        path,
        sha256: entry.sha256,
        size: entry.size,
        executable: stat.executable,
        tracked,
        chunks: entry.chunks.map((c) => [c.hash, c.size]),
      });
      continue;
    }
    const hashed = await hashFile(fs, layout.file(path), target.chunking, crypto);
    hashedBytes += hashed.size;
    files.push({ path, ...hashed, executable: stat.executable, tracked });
  }
  return { files, stats, hashedBytes };
}
