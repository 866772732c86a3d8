import type { Manifest } from "../../core/manifest.js";
import type { MaterializedRelease } from "../../core/tree-read.js";
import type { Context } from "../context.js";
import type { InstallState } from "../install/state.js";
import { loadRelease } from "../remote/release.js";
import { checkManifestBytes, type RemoteRepository } from "../remote/remote.js";

/**
 * The installed release; with a repository, a lost or damaged local manifest or object is fetched again
 * (the same pinned bytes), otherwise it is an error.
 */
export async function loadInstalledRelease(
  ctx: Context,
  state: InstallState,
  repo: RemoteRepository | undefined,
): Promise<MaterializedRelease> {
  const { bytes, where } = await installedManifestBytes(ctx, state, repo);
  return loadRelease(ctx, state.manifest, bytes, where, repo);
}

/** The installed release's manifest bytes (inline manifest or tree header), where they came from. */
export async function installedManifestBytes(
  ctx: Context,
  state: InstallState,
  repo: RemoteRepository | undefined,
): Promise<{ bytes: Uint8Array; where: string }> {
  const path = ctx.layout.manifest(state.manifest.hash);
  try {
    const bytes = await ctx.fs.readFile(path);
    await checkManifestBytes(ctx.crypto, bytes, state.manifest, path);
    return { bytes, where: path };
  } catch (localError) {
    if (!repo) throw localError;
    const bytes = await repo.manifestBytes(state.manifest, ctx.signal).catch(() => {
      throw localError;
    });
    if (!ctx.readOnly) {
      await ctx.fs.mkdirp(ctx.layout.manifests);
      await ctx.fs.writeFileAtomic(path, bytes);
    }
    return { bytes, where: repo.url(`manifests/${state.manifest.hash}`) };
  }
}

/** The installed release's manifest, from `.ferry/` only (no repository to fetch a lost one from). */
export async function loadInstalledManifest(ctx: Context, state: InstallState): Promise<Manifest> {
  return (await loadInstalledRelease(ctx, state, undefined)).manifest;
}
