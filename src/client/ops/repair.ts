import { linkProblem } from "../plan/links.js";
import type { Crypto } from "../../ports/crypto.js";
import { FerryError } from "../../core/errors.js";
import type { FileEntry, Manifest } from "../../core/manifest.js";
import { type LocalFile, plan as makePlan } from "../../core/planner.js";
import { parsePointer, verifyPointer } from "../../core/pointer.js";
import { DEFAULT_COALESCE } from "../../core/ranges.js";
import type { FileStat, FileSystem } from "../../ports/fs.js";
import { type ClientDeps, DEFAULT_UPDATE_DEADLINE_MS, makeContext } from "../context.js";
import { withInstall } from "../apply/with-install.js";
import type { RangeMode } from "../events.js";
import { requireInstallDir, type VerifyProblem } from "./inspect.js";
import type { InstallLayout } from "../install/layout.js";
import { cacheEntry, type LocalIndex } from "../plan/local-index.js";
import type { InstallState } from "../install/state.js";
import { requireState } from "../install/read-state.js";
import { installedRoot, toAnchor, type TrustOption } from "../remote/trust.js";
import { installedSelection, materialized } from "../install/content.js";
import { executePlan } from "../apply/execute.js";
import { refreshState } from "../apply/refresh-state.js";
import { loadInstalledRelease } from "../plan/installed-release.js";
import { openRepository } from "../remote/open.js";

export interface RepairOptions extends ClientDeps {
  /** Where the installed release's chunks (and, if the local copy is lost, its manifest) are fetched. */
  readonly repoUrl: string;
  /** More base URLs of the same repository, tried after repoUrl. */
  readonly mirrors?: readonly string[];
  readonly installDir: string;
  /**
   * The install state keeps the signed pointer that pinned the installed manifest and the root that
   * verified it; repair re-verifies both against what the caller trusts, so a tampered state.json cannot
   * make it "restore" other content.
   */
  readonly trust: TrustOption;
  readonly concurrency?: number;
  readonly rangeMode?: RangeMode;
  readonly maxAttempts?: number;
}

export interface RepairResult {
  readonly version: string;
  readonly filesChecked: number;
  readonly bytesChecked: number;
  /** What was wrong before the repair (all of it is fixed when repair returns). */
  readonly problems: readonly VerifyProblem[];
  readonly filesRepaired: number;
  /** Files in the install directory that the installed release does not track: reported, never touched. */
  readonly untracked: readonly string[];
  readonly bytesDownloaded: number;
  readonly metadataBytes: number;
  readonly requests: number;
  readonly chunksFetched: number;
  readonly bytesReused: number;
  readonly rangeMode: RangeMode;
  readonly durationMs: number;
}

/**
 * Re-hashes every installed file against the installed (signed, pinned) manifest, ignoring the stat
 * cache, and restores exactly the missing or damaged files through the same staging + journal commit as
 * an update. Targets the installed release, never the channel's latest. Only chunks whose bytes are not
 * intact at their place in some local file are downloaded, and no gap between them is over-read.
 */
export async function repair(options: RepairOptions): Promise<RepairResult> {
  const ctx = makeContext(options.installDir, options, DEFAULT_UPDATE_DEADLINE_MS);
  const started = ctx.clock.now();
  await requireInstallDir(ctx);
  return withInstall(ctx, options, async () => {
    const state = await requireState(ctx);
    await checkInstalledPointer(state, options.trust, ctx.layout.state, ctx.crypto);
    const repo = openRepository(ctx, options);
    const release = await loadInstalledRelease(ctx, state, repo);
    const full = release.manifest;
    // Only the installed packages, minus files the base directory holds (docs/PACKAGES.md).
    const manifest = await materialized(
      ctx.fs,
      full,
      installedSelection(state, full),
      state.base,
      ctx.crypto,
    );
    const scan = await scanInstall(ctx.crypto, ctx.fs, ctx.layout, manifest);
    const stored = new Set(
      (await ctx.fs.readdir(ctx.layout.stagedChunks)).filter((n) => /^[0-9a-f]{64}$/.test(n)),
    );
    const exact = { ...DEFAULT_COALESCE, maxGap: 0 }; // adjacent chunks share a range; gaps are never read
    const plan = makePlan(manifest, scan.local.files, stored, exact);
    const base = {
      version: state.version,
      filesChecked: manifest.files.length,
      bytesChecked: scan.local.hashedBytes,
      problems: scan.problems,
      untracked: await untrackedFiles(ctx.fs, ctx.layout, manifest),
    };
    const finish = (parts: Partial<RepairResult>): RepairResult => ({
      ...base,
      filesRepaired: 0,
      bytesDownloaded: repo.metadataBytes,
      metadataBytes: repo.metadataBytes,
      requests: repo.requests,
      chunksFetched: 0,
      bytesReused: 0,
      rangeMode: options.rangeMode ?? "multi",
      ...parts,
      durationMs: ctx.clock.now().getTime() - started.getTime(),
    });
    if (plan.writes.length === 0) {
      // Intact: remember the fresh stat cache so the next update does not re-hash.
      const files = Object.fromEntries(
        plan.keep.map((path) => [path, cacheEntry(scan.local.stats.get(path)!)]),
      );
      await refreshState(ctx, state, { ...state, files });
      return finish({});
    }
    const { bytesReused, fetcher } = await executePlan(ctx, options, {
      repo,
      manifest: full,
      manifestBytes: await ctx.fs.readFile(ctx.layout.manifest(state.manifest.hash)),
      objects: new Set(release.objects.map((o) => o.hash)),
      plan,
      local: scan.local,
      coalesce: exact,
      state, // the same release: only the stat cache changes
    });
    return finish({
      filesRepaired: plan.writes.length,
      bytesDownloaded: fetcher.bytesDownloaded + repo.metadataBytes,
      metadataBytes: repo.metadataBytes,
      requests: repo.requests,
      chunksFetched: fetcher.chunksFetched,
      bytesReused,
      rangeMode: fetcher.mode,
    });
  });
}

/** The state's pin must come from a pointer the install's trusted root authorises, naming this very manifest. */
export async function checkInstalledPointer(
  state: InstallState,
  trust: TrustOption,
  where: string,
  crypto: Crypto,
): Promise<void> {
  const root = await installedRoot(toAnchor(trust), state, crypto);
  const verified = async (document: unknown) =>
    verifyPointer(
      parsePointer(new TextEncoder().encode(JSON.stringify(document ?? null)), where),
      root.body,
      crypto,
    );
  const names = (p: Awaited<ReturnType<typeof verified>>) =>
    p.body.manifest.hash === state.manifest.hash && p.body.version === state.version;
  let pointer = await verified(state.pointer);
  // After a rollback the newest pointer names the newer release; the older one is pinned by pinPointer.
  if (!names(pointer) && state.pinPointer !== undefined) pointer = await verified(state.pinPointer);
  if (!names(pointer)) {
    throw new FerryError(
      "E_SIGNATURE",
      `${where} pins manifest ${state.manifest.hash} but its signed pointer names ${pointer.body.manifest.hash}: the install state was tampered with. Reinstall into a fresh directory.`,
      { path: where, expected: pointer.body.manifest.hash, actual: state.manifest.hash },
    );
  }
}

interface Scan {
  readonly local: LocalIndex;
  readonly problems: VerifyProblem[];
}

/** Every installed file, hashed at the manifest's chunk boundaries (no stat cache is trusted). */
async function scanInstall(
  crypto: Crypto,
  fs: FileSystem,
  layout: InstallLayout,
  manifest: Manifest,
): Promise<Scan> {
  const files: LocalFile[] = [];
  const stats = new Map<string, FileStat>();
  const problems: VerifyProblem[] = [];
  let hashedBytes = 0;
  for (const entry of manifest.files) {
    const stat = await fs.stat(layout.file(entry.path));
    if (!stat) {
      problems.push({ path: entry.path, problem: "missing", expected: entry.sha256 });
      continue;
    }
    if (entry.link !== undefined) {
      const problem = await linkProblem(fs, layout.file(entry.path), entry);
      if (problem === undefined) {
        stats.set(entry.path, stat);
        files.push({
          path: entry.path,
          sha256: entry.sha256,
          size: 0,
          executable: false,
          link: entry.link,
          tracked: true,
          chunks: [],
        });
      } else
        problems.push({
          path: entry.path,
          problem: stat.kind === "symlink" ? "changed" : "not-a-link",
          expected: entry.sha256,
          actual: problem,
        });
      continue;
    }
    if (stat.kind !== "file") {
      problems.push({ path: entry.path, problem: "not-a-file", expected: entry.sha256, actual: stat.kind });
      continue;
    }
    const local = await hashAtBoundaries(crypto, fs, layout.file(entry.path), entry);
    hashedBytes += local.size;
    stats.set(entry.path, stat);
    files.push({ ...local, path: entry.path, executable: stat.executable, tracked: true });
    if (local.sha256 !== entry.sha256 || local.size !== entry.size) {
      problems.push({ path: entry.path, problem: "changed", expected: entry.sha256, actual: local.sha256 });
    } else if (stat.executable !== entry.executable) {
      problems.push({
        path: entry.path,
        problem: "mode",
        expected: entry.executable ? "executable" : "not executable",
        actual: stat.executable ? "executable" : "not executable",
      });
    }
  }
  return { local: { files, stats, hashedBytes }, problems };
}

/**
 * Hashes a file in one streaming pass: the whole file, and each byte span where the manifest puts a
 * chunk. A span that is intact hashes to that chunk and is reused; a damaged span gets the hash of what
 * is there (never matching), and bytes past the last chunk form one trailing span. Re-chunking the damaged
 * file instead could shift content-defined boundaries and cost intact neighbours a download.
 */
async function hashAtBoundaries(
  crypto: Crypto,
  fs: FileSystem,
  path: string,
  entry: FileEntry,
): Promise<Pick<LocalFile, "sha256" | "size" | "chunks">> {
  const whole = crypto.createSha256();
  const chunks: [string, number][] = [];
  let index = 0;
  let span = crypto.createSha256();
  const spanSize = (): number => entry.chunks[index]?.size ?? Number.POSITIVE_INFINITY;
  for await (const block of fs.readBlocks(path)) {
    whole.update(block);
    let at = 0;
    while (at < block.length) {
      const take = Math.min(block.length - at, spanSize() - span.length);
      span.update(block.subarray(at, at + take));
      at += take;
      if (span.length === spanSize()) {
        chunks.push([await span.digest(), span.length]);
        span = crypto.createSha256();
        index++;
      }
    }
  }
  if (span.length > 0) chunks.push([await span.digest(), span.length]);
  return { sha256: await whole.digest(), size: whole.length, chunks };
}

/** Release paths under the install root that the manifest does not list (`.ferry/` excluded). */
async function untrackedFiles(fs: FileSystem, layout: InstallLayout, manifest: Manifest): Promise<string[]> {
  const tracked = new Set(manifest.files.map((f) => f.path));
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await fs.readdir(dir === "" ? layout.root : layout.file(dir))).sort()) {
      const path = dir === "" ? name : `${dir}/${name}`;
      if (path === ".ferry") continue;
      const stat = await fs.stat(layout.file(path));
      if (stat?.kind === "directory") await walk(path);
      else if (stat && !tracked.has(path)) out.push(path);
    }
  };
  await walk("");
  return out;
}
