import { linkProblem } from "../plan/links.js";
import { totalSize } from "../../core/manifest.js";
import { type InstallOptions, makeContext } from "../context.js";
import { readInstall, requireDirectory } from "../apply/with-install.js";
import { hashFile } from "../plan/local-index.js";
import { requireState } from "../install/read-state.js";
import { FerryError } from "../../core/errors.js";
import { loadInstalledManifest } from "../plan/installed-release.js";
import { installedSelection, materialized } from "../install/content.js";
import { restrict } from "../../core/selection.js";
import { type LifecycleStatus, lifecycleStatus } from "./lifecycle-status.js";

export interface StatusResult {
  readonly installDir: string;
  readonly version: string;
  readonly channel: string;
  readonly repo: string;
  readonly serial: number;
  readonly files: number;
  readonly bytes: number;
  readonly expires: string | null;
  /** Installed packages (docs/PACKAGES.md), the base directory overlaid, and the release's runtime. */
  readonly packages: readonly string[];
  readonly availablePackages: Readonly<Record<string, { readonly optional: boolean }>>;
  readonly base: string | null;
  readonly runtime: string | null;
  /** Rollout bucket, health, blocked releases, previous release, last error (docs/ROLLBACK.md). */
  readonly lifecycle: LifecycleStatus;
}

/**
 * What is installed. Reads only local state; takes no lock and writes nothing (an interrupted commit is
 * rolled forward first when the install is writable and no updater runs: readInstall).
 */
export async function status(options: InstallOptions): Promise<StatusResult> {
  const { installDir, ...deps } = options;
  const ctx = makeContext(installDir, deps);
  await requireInstallDir(ctx);
  return readInstall(ctx, deps, async () => {
    const state = await requireState(ctx);
    const full = await loadInstalledManifest(ctx, state);
    const selection = installedSelection(state, full);
    const manifest = restrict(full, selection);
    const expires = (state.pointer as { signed?: { expires?: unknown } } | null)?.signed?.expires;
    return {
      installDir: ctx.layout.root,
      version: state.version,
      channel: state.channel,
      repo: state.repo,
      serial: state.serial,
      files: manifest.files.length,
      bytes: totalSize(manifest),
      expires: typeof expires === "string" ? expires : null,
      packages: selection.packages,
      availablePackages: full.packages,
      base: state.base ?? null,
      runtime: state.runtime ?? null,
      lifecycle: await lifecycleStatus(ctx, state),
    };
  });
}

export interface VerifyProblem {
  readonly path: string;
  /** "mode": the content is right but the executable bit is not. */
  readonly problem: "missing" | "changed" | "not-a-file" | "not-a-link" | "mode";
  readonly expected: string;
  readonly actual?: string;
}

export interface VerifyResult {
  readonly version: string;
  readonly filesChecked: number;
  readonly bytesChecked: number;
  readonly problems: readonly VerifyProblem[];
  readonly ok: boolean;
}

/** Re-hashes every installed file against the installed (signed, pinned) manifest. */
export async function verify(options: InstallOptions): Promise<VerifyResult> {
  const { installDir, ...deps } = options;
  const ctx = makeContext(installDir, deps);
  await requireInstallDir(ctx);
  return readInstall(ctx, deps, async () => {
    const state = await requireState(ctx);
    const full = await loadInstalledManifest(ctx, state);
    // The installed packages, minus files the base directory holds identically (docs/PACKAGES.md).
    const manifest = await materialized(
      ctx.fs,
      full,
      installedSelection(state, full),
      state.base,
      ctx.crypto,
    );
    const problems: VerifyProblem[] = [];
    let bytesChecked = 0;
    for (const file of manifest.files) {
      const native = ctx.layout.file(file.path);
      const stat = await ctx.fs.stat(native);
      if (!stat) {
        problems.push({ path: file.path, problem: "missing", expected: file.sha256 });
        continue;
      }
      if (file.link !== undefined) {
        const problem = await linkProblem(ctx.fs, native, file);
        if (problem !== undefined)
          problems.push({
            path: file.path,
            problem: stat.kind === "symlink" ? "changed" : "not-a-link",
            expected: file.sha256,
            actual: problem,
          });
        continue;
      }
      if (stat.kind !== "file") {
        problems.push({ path: file.path, problem: "not-a-file", expected: file.sha256, actual: stat.kind });
        continue;
      }
      const hashed = await hashFile(ctx.fs, native, manifest.chunking, ctx.crypto);
      bytesChecked += hashed.size;
      if (hashed.sha256 !== file.sha256)
        problems.push({ path: file.path, problem: "changed", expected: file.sha256, actual: hashed.sha256 });
      else if (stat.executable !== file.executable)
        problems.push({
          path: file.path,
          problem: "mode",
          expected: file.executable ? "executable" : "not executable",
          actual: stat.executable ? "executable" : "not executable",
        });
    }
    return {
      version: state.version,
      filesChecked: manifest.files.length,
      bytesChecked,
      problems,
      ok: problems.length === 0,
    };
  });
}

/** Read-only commands refuse a directory that was never installed into (and do not create .ferry/). */
export async function requireInstallDir(ctx: ReturnType<typeof makeContext>): Promise<void> {
  await requireDirectory(ctx);
  if ((await ctx.fs.stat(ctx.layout.ferry))?.kind !== "directory") {
    throw new FerryError(
      "E_NOT_INSTALLED",
      `${ctx.layout.root} has no Ferry install (no .ferry/). Run 'ferry update <repo-url> ${ctx.layout.root} --trust <key>' to install.`,
      { path: ctx.layout.root },
    );
  }
}
