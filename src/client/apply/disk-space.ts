import { canonicalJson } from "../../core/canonical-json.js";
import { FerryError } from "../../core/errors.js";
import type { Manifest } from "../../core/manifest.js";
import type { Plan } from "../../core/planner.js";
import { spaceNeeded } from "../../core/space.js";
import type { Context } from "../context.js";
import { encodeState, type InstallState } from "../install/state.js";

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * Refuses an update the install's volume cannot hold, before anything is downloaded: the install stays
 * as it is. Staged files of an earlier, interrupted run are never reused, so they are removed first and
 * their space counts as free.
 */
export async function checkDiskSpace(
  ctx: Context,
  plan: Plan,
  manifest: Manifest,
  manifestBytes: number,
  pointerDocument: unknown,
  previous?: InstallState,
): Promise<void> {
  await ctx.fs.removeTree(ctx.layout.stagedFiles);
  let volume = await ctx.fs.freeSpace(ctx.layout.ferry);
  const needed = spaceNeeded({
    plan,
    manifest,
    manifestBytes,
    pointerBytes: new TextEncoder().encode(canonicalJson(pointerDocument)).length,
    blockSize: volume.blockSize,
    ...(previous ? { previousStateBytes: encodeState(previous).length } : {}),
  });
  // The previous release kept so far is dropped at this commit anyway; when the update only fits
  // without it, it goes now (the installed release then has nothing to roll back to until the commit).
  if (needed.total > volume.available && (await ctx.fs.stat(ctx.layout.previousRoot))) {
    await ctx.fs.removeTree(ctx.layout.previousRoot);
    volume = await ctx.fs.freeSpace(ctx.layout.ferry);
  }
  if (needed.total > volume.available) {
    throw new FerryError(
      "E_NO_SPACE",
      `Not enough disk space for the update of ${ctx.layout.root}: it needs ${needed.total} bytes (${mib(needed.total)}) but only ${volume.available} bytes (${mib(volume.available)}) are available on that volume. Free at least ${mib(needed.total - volume.available)} there and run the update again; nothing was changed.`,
      {
        path: ctx.layout.root,
        needed: needed.total,
        available: volume.available,
        chunks: needed.chunks,
        files: needed.files,
        metadata: needed.metadata,
        directories: needed.directories,
        previous: needed.previous,
      },
    );
  }
}
