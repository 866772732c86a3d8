import type { Context } from "../context.js";
import { pruneStatFiles } from "../install/stat-cache.js";
import type { InstallState } from "../install/state.js";
import type { ObjectSet } from "../plan/prepare.js";
import { pruneKeptObjects } from "../remote/release.js";
import { keptPreviousObjects, readPrevious } from "./previous.js";

/**
 * After a commit: removes staging and what the installed release no longer needs (objects: when given).
 * `installed`: the state as just committed (as stored), passed down rather than read again.
 */
export async function cleanup(
  ctx: Context,
  keepManifest: string,
  objects: ObjectSet | undefined,
  installed: InstallState | undefined,
): Promise<void> {
  if (objects) {
    // The kept previous release's objects stay with it, for a rollback (docs/ROLLBACK.md).
    const keepObjects = typeof objects === "function" ? await objects() : objects;
    const previous = installed ? await keptPreviousObjects(ctx, installed) : [];
    await pruneKeptObjects(ctx, new Set([...keepObjects, ...previous]));
  }
  // Stat files: the installed state's and the kept previous release's.
  const record = installed ? await readPrevious(ctx, installed) : undefined;
  const statFiles = [installed?.statCache?.hash, record?.state.statCache?.hash];
  await pruneStatFiles(ctx.fs, ctx.layout, new Set(statFiles.filter((h) => h !== undefined)));
  await ctx.fs.removeTree(ctx.layout.staging);
  if (await ctx.fs.stat(ctx.layout.pending)) await ctx.fs.unlink(ctx.layout.pending); // superseded
  for (const name of await ctx.fs.readdir(ctx.layout.manifests)) {
    // The kept previous release's manifest stays with it (docs/ROLLBACK.md).
    if (name !== keepManifest && !(await ctx.fs.stat(ctx.layout.previous(name))))
      await ctx.fs.unlink(ctx.layout.manifest(name));
  }
}
