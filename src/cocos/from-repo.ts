import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { EventSink } from "../client/events.js";
import { makeContext } from "../client/context.js";
import { requireState } from "../client/install/read-state.js";
import type { TrustOption } from "../client/remote/trust.js";
import { update } from "../client/ops/update.js";
import { loadInstalledManifest } from "../client/plan/installed-release.js";
import { FerryError } from "../core/errors.js";
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
        ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
      }),
    );
    const ctx = makeContext(installDir, { fs });
    const manifest = await loadInstalledManifest(ctx, await requireState(ctx));
    const only = options.only === undefined ? undefined : new Set(options.only);
    const files = manifest.files.filter((f) => selected(f.path, only));
    for (const dir of only ?? [])
      if (!files.some((f) => f.path.startsWith(`${dir}/`)))
        throw new FerryError(
          "E_NOT_FOUND",
          `--only ${dir}: release ${manifest.version} has no files under ${dir}/. Check the folder name.`,
          { path: dir },
        );
    for (const reserved of ["project.manifest", "version.manifest"])
      if (files.some((f) => f.path === reserved))
        throw new FerryError(
          "E_USAGE",
          `Release ${manifest.version} has a top-level ${reserved}, which the generated one would overwrite. Use --only, or move the file in the build.`,
          { path: reserved },
        );
    const assets: CocosAsset[] = [];
    for (const entry of files)
      assets.push(
        await copyVerified(
          fs,
          ctx.layout.file(entry.path),
          join(options.dest, ...entry.path.split("/")),
          entry,
        ),
      );
    const version = options.version ?? manifest.version;
    const result = await writeManifestFiles(fs, options.dest, cocosHeader(options.url, version), assets);
    return { ...result, version };
  } finally {
    if (options.installDir === undefined) await rm(installDir, { recursive: true, force: true });
  }
}
