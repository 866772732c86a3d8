import { createHash } from "node:crypto";
import { join } from "node:path";
import { FerryError } from "../core/errors.js";
import { assertSafePath, comparePaths } from "../core/paths.js";
import { NodeFileSystem } from "../node/node-fs.js";
import type { FileSystem } from "../ports/fs.js";
import { scanBuildDirectory, type ScannedFile } from "../publisher/scan.js";
import {
  type CocosAsset,
  type CocosHeader,
  cocosHeader,
  projectManifestText,
  versionManifestText,
} from "./manifest.js";

export interface CocosManifestOptions {
  /** The build directory (the original's `--src`). */
  readonly src: string;
  readonly version: string;
  /** packageUrl; must end with `/`. */
  readonly url: string;
  /** Where project.manifest and version.manifest are written (created if absent). */
  readonly dest: string;
  /** Walk only these top-level folders of src (the tutorial walks src, assets, jsb-adapter). */
  readonly only?: readonly string[];
  readonly fs?: FileSystem;
}

export interface CocosManifestResult {
  readonly assets: number;
  readonly bytes: number;
  readonly projectManifest: string;
  readonly versionManifest: string;
}

/** Names starting with '.' are skipped at every level, files and folders alike, as the original does. */
export const skipDotName = (name: string): boolean => name.startsWith(".");

/**
 * The files the manifest lists, sorted by path. Unlike the original (which logs a scan error and writes
 * a partial manifest), any unreadable entry, symlink, special file or unsafe name fails the whole run.
 */
export async function listCocosFiles(
  src: string,
  only: readonly string[] | undefined,
  fs: FileSystem,
): Promise<ScannedFile[]> {
  if (only === undefined) return scanBuildDirectory(src, { skipName: skipDotName });
  const files: ScannedFile[] = [];
  const seen = new Set<string>();
  for (const dir of only) {
    assertSafePath(dir, "--only");
    if (dir.includes("/") || skipDotName(dir) || seen.has(dir))
      throw new FerryError(
        "E_USAGE",
        `--only ${JSON.stringify(dir)}: give distinct top-level folder names of ${src}, not paths or dot-names.`,
        { path: dir },
      );
    seen.add(dir);
    const stat = await fs.stat(join(src, dir));
    if (stat?.kind !== "directory")
      throw new FerryError(
        "E_NOT_FOUND",
        `--only ${dir}: ${join(src, dir)} is not a directory. Check the build directory or drop the folder from --only.`,
        { path: join(src, dir) },
      );
    for (const f of await scanBuildDirectory(join(src, dir), { skipName: skipDotName }))
      files.push({ ...f, path: `${dir}/${f.path}` });
  }
  return files.sort((a, b) => comparePaths(a.path, b.path));
}

/** MD5 and size of a file, streamed (memory stays bounded). */
export async function md5File(fs: FileSystem, absolute: string): Promise<{ md5: string; size: number }> {
  const hash = createHash("md5");
  let size = 0;
  for await (const block of fs.readBlocks(absolute)) {
    hash.update(block);
    size += block.length;
  }
  return { md5: hash.digest("hex"), size };
}

/** Writes project.manifest, then version.manifest (the file clients poll) last, each atomically. */
export async function writeManifestFiles(
  fs: FileSystem,
  dest: string,
  header: CocosHeader,
  assets: readonly CocosAsset[],
): Promise<CocosManifestResult> {
  const encoder = new TextEncoder();
  const projectManifest = join(dest, "project.manifest");
  const versionManifest = join(dest, "version.manifest");
  await fs.mkdirp(dest);
  await fs.writeFileAtomic(projectManifest, encoder.encode(projectManifestText(header, assets)));
  await fs.writeFileAtomic(versionManifest, encoder.encode(versionManifestText(header)));
  return {
    assets: assets.length,
    bytes: assets.reduce((sum, a) => sum + a.size, 0),
    projectManifest,
    versionManifest,
  };
}

/** `ferry cocos-manifest --src`: manifests for a build directory (the files themselves are not copied). */
export async function writeCocosManifests(options: CocosManifestOptions): Promise<CocosManifestResult> {
  const fs = options.fs ?? new NodeFileSystem();
  const header = cocosHeader(options.url, options.version);
  const files = await listCocosFiles(options.src, options.only, fs);
  const assets: CocosAsset[] = [];
  for (const file of files) assets.push({ path: file.path, ...(await md5File(fs, file.absolute)) });
  return writeManifestFiles(fs, options.dest, header, assets);
}
