import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import type { EventSink } from "../client/events.js";
import { makeContext } from "../client/context.js";
import { requireState } from "../client/install/read-state.js";
import type { TrustOption } from "../client/remote/trust.js";
import { update } from "../client/ops/update.js";
import { loadInstalledManifest } from "../client/plan/installed-release.js";
import { installedSelection } from "../client/install/content.js";
import { FerryError } from "../core/errors.js";
import { restrict } from "../core/selection.js";
import type { FileEntry } from "../core/manifest.js";
import { NodeFileSystem } from "../node/node-fs.js";
import type { FileSystem } from "../ports/fs.js";
import { serveRepository } from "../server/static-server.js";
import { type CocosManifestResult, skipDotName, writeManifestFiles } from "./generate.js";
import { type CocosAsset, cocosHeader } from "./manifest.js";

export interface CocosFromRepoOptions {
  /** A Ferry repository: an http(s) URL, or a local directory (served on 127.0.0.1 for the run). */
  readonly repo: string;
  readonly trust: TrustOption;
  readonly channel?: string;
  readonly url: string;
  readonly dest: string;
  /** Defaults to the release's version. */
  readonly version?: string;
  readonly only?: readonly string[];
  /**
   * The release's packages to publish for Cocos clients (docs/PACKAGES.md): by default the ones a Ferry
   * client installs when nobody chooses (every non-optional package). A Cocos client downloads every
   * file its manifest lists, so an optional package is listed only when named here.
   */
  readonly packages?: readonly string[];
  /**
   * Where the release is installed (verified) first. Keep one between runs so only changed chunks are
   * downloaded; by default a temporary directory, removed afterwards.
   */
  readonly installDir?: string;
  readonly onEvent?: EventSink;
  readonly fs?: FileSystem;
}

export interface CocosFromRepoResult extends CocosManifestResult {
  readonly version: string;
}

/** Same selection as the directory walk: no segment starting with '.', and only the --only folders. */
function selected(path: string, only: ReadonlySet<string> | undefined): boolean {
  const segments = path.split("/");
  if (segments.some(skipDotName)) return false;
  return only === undefined || only.has(segments[0] ?? "");
}

/**
 * Copies one verified release file into the layout packageUrl expects (dest/<path>), streaming; the
 * copy's SHA-256 and size must equal the signed manifest's, so a file changed after the update's own
 * verification is never published. The copy is written under a dot-name and renamed into place.
 */
async function copyVerified(fs: FileSystem, from: string, to: string, entry: FileEntry): Promise<CocosAsset> {
  await fs.mkdirp(dirname(to));
  const temp = join(dirname(to), `.tmp-ferry-${randomBytes(6).toString("hex")}`);
  const md5 = createHash("md5");
  const sha = createHash("sha256");
  let size = 0;
  const writer = await fs.createWriter(temp);
  try {
    for await (const block of fs.readBlocks(from)) {
      md5.update(block);
      sha.update(block);
      size += block.length;
      await writer.write(block);
    }
    await writer.commit();
  } catch (error) {
    await writer.abort().catch(() => undefined);
    await fs.unlink(temp).catch(() => undefined);
    throw error;
  }
  const digest = sha.digest("hex");
  if (digest !== entry.sha256 || size !== entry.size) {
    await fs.unlink(temp);
    throw new FerryError(
      "E_HASH_MISMATCH",
      `${from} changed after it was verified (SHA-256 ${digest}, ${size} bytes; the release says ${entry.sha256}, ${entry.size} bytes). Run the command again.`,
      { path: from, expected: entry.sha256, actual: digest },
    );
  }
  await fs.rename(temp, to);
  return { path: entry.path, size, md5: md5.digest("hex") };
}

async function withRepositoryUrl<T>(repo: string, work: (url: string) => Promise<T>): Promise<T> {
  if (/^https?:\/\//i.test(repo)) return work(repo);
  const server = await serveRepository({ root: repo, host: "127.0.0.1", port: 0 });
  try {
    return await work(server.url);
  } finally {
    await server.close();
  }
}

/**
 * `ferry cocos-manifest --from-repo`: installs the channel's release exactly as a Ferry client does
 * (signed pointer, signed manifest, every byte verified), then writes its files and the Cocos manifests
 * into dest, so one published build serves Ferry clients and unchanged Cocos clients. Files first,
 * project.manifest next, version.manifest (what Cocos clients poll) last.
 */
export async function cocosFromRepository(options: CocosFromRepoOptions): Promise<CocosFromRepoResult> {
  const fs = options.fs ?? new NodeFileSystem();
  cocosHeader(options.url, options.version ?? "0"); // usage errors before any download
  const installDir = options.installDir ?? (await mkdtemp(join(tmpdir(), "ferry-cocos-")));
  try {
    await withRepositoryUrl(options.repo, (repoUrl) =>
      update({
        repoUrl,
        installDir,
        trust: options.trust,
        fs,
        ...(options.channel === undefined ? {} : { channel: options.channel }),
        ...(options.packages === undefined ? {} : { packages: options.packages }),
        ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
      }),
    );
    const ctx = makeContext(installDir, { fs });
    const state = await requireState(ctx);
    const full = await loadInstalledManifest(ctx, state);
    // The files the install holds: its packages (and on-demand paths), not the optional ones it skipped.
    const manifest = restrict(full, installedSelection(state, full));
    const only = options.only === undefined ? undefined : new Set(options.only);
    const files = manifest.files.filter((f) => selected(f.path, only));
    for (const dir of only ?? [])
      if (!files.some((f) => f.path.startsWith(`${dir}/`)))
        throw new FerryError(
          "E_NOT_FOUND",
          `--only ${dir}: release ${manifest.version} has no files under ${dir}/ in the packages installed (${installedSelection(state, full).packages.join(", ")}). Check the folder name, or name its package with --packages.`,
          { path: dir },
        );
    for (const reserved of ["project.manifest", "version.manifest"])
      if (files.some((f) => f.path === reserved))
        throw new FerryError(
          "E_USAGE",
          `Release ${manifest.version} has a top-level ${reserved}, which the generated one would overwrite. Use --only, or move the file in the build.`,
          { path: reserved },
        );
    const version = options.version ?? manifest.version;
    const header = cocosHeader(options.url, version);
    // Everything is written into a staging directory beside dest first: a failure (a file changed under
    // the install, a full disk) leaves dest exactly as it was. Then the staging directory becomes dest
    // (a new dest), or its files are renamed into dest and the manifests last (an existing dest keeps
    // the files of earlier releases: Cocos clients mid-update may still fetch them).
    const dest = resolve(options.dest);
    const staging = join(dirname(dest), `.${basename(dest)}.tmp-ferry-${randomBytes(6).toString("hex")}`);
    try {
      const assets: CocosAsset[] = [];
      for (const entry of files)
        assets.push(
          await copyVerified(fs, ctx.layout.file(entry.path), join(staging, ...entry.path.split("/")), entry),
        );
      const staged = await writeManifestFiles(fs, staging, header, assets);
      if ((await fs.stat(dest)) === undefined) {
        await fs.rename(staging, dest);
        await fs.fsyncDir(dirname(dest));
      } else {
        for (const entry of files) {
          const to = join(dest, ...entry.path.split("/"));
          await fs.mkdirp(dirname(to));
          await fs.rename(join(staging, ...entry.path.split("/")), to);
        }
        await fs.rename(staged.projectManifest, join(dest, "project.manifest"));
        await fs.rename(staged.versionManifest, join(dest, "version.manifest"));
      }
      return {
        ...staged,
        projectManifest: join(dest, "project.manifest"),
        versionManifest: join(dest, "version.manifest"),
        version,
      };
    } finally {
      await fs.removeTree(staging);
    }
  } finally {
    if (options.installDir === undefined) await rm(installDir, { recursive: true, force: true });
  }
}
