import { joinPath, parentPath } from "../paths.js";
import { canonicalJson } from "../../core/canonical-json.js";
import { parseJson } from "../../core/json-reader.js";
import { restrict } from "../../core/selection.js";
import type { Context } from "../context.js";
import { installedSelection } from "../install/content.js";
import { type InstallState, parseState } from "../install/state.js";
import { withStatFiles } from "../install/stat-cache.js";
import type { SetAsideRecord } from "../plan/runtime.js";
import { decodeManifest } from "../remote/remote.js";

/** The runtime gate's writer (see plan/runtime.ts): `.ferry/set-aside/<id>/` holds each release set aside. */
export function setAsideRoot(ctx: Context): string {
  return joinPath(ctx.layout.ferry, "set-aside");
}

/**
 * Sets the installed release aside when it was made for another runtime than `clientRuntime`, after
 * finishing any set-aside a crash interrupted. Runs under the install lock. `stored`: the installed state
 * as stored (read once by the caller; a large install's stat cache is read only when the release is set
 * aside). Returns what was set aside.
 */
export async function setAsideStaleRelease(
  ctx: Context,
  clientRuntime: string | undefined,
  stored: InstallState | undefined,
): Promise<SetAsideRecord | undefined> {
  // Finishing earlier set-asides moves files only, never state.json: `stored` stays the installed state.
  await finishSetAsides(ctx);
  if (
    clientRuntime === undefined ||
    !stored ||
    stored.runtime === undefined ||
    stored.runtime === clientRuntime
  )
    return undefined;
  const state = await withStatFiles(ctx, stored);
  const at = ctx.clock.now();
  const directory = joinPath(setAsideRoot(ctx), `${at.getTime()}-${state.version}`);
  await ctx.fs.mkdirp(directory);
  const record: SetAsideRecord = {
    reason: "runtime",
    version: state.version,
    runtime: stored.runtime,
    clientRuntime,
    at: at.toISOString(),
    directory,
  };
  await ctx.fs.writeFileAtomic(
    joinPath(directory, "record.json"),
    new TextEncoder().encode(canonicalJson(record)),
  );
  const manifest = ctx.layout.manifest(state.manifest.hash);
  if ((await ctx.fs.stat(manifest))?.kind === "file")
    await ctx.fs.writeFileAtomic(joinPath(directory, "manifest"), await ctx.fs.readFile(manifest));
  // The commit point: once state.json has moved, the install holds no release.
  await ctx.fs.rename(ctx.layout.state, joinPath(directory, "state.json"));
  await ctx.fs.fsyncDir(ctx.layout.ferry);
  await ctx.fs.fsyncDir(directory);
  await moveFilesAside(ctx, directory, state);
  ctx.emit({ type: "set-aside", ...record });
  return record;
}

/** Completes set-asides whose state moved but whose files may not all have (a crash in between). */
async function finishSetAsides(ctx: Context): Promise<void> {
  for (const name of (await ctx.fs.readdir(setAsideRoot(ctx))).sort()) {
    const directory = joinPath(setAsideRoot(ctx), name);
    if ((await ctx.fs.stat(joinPath(directory, "done")))?.kind === "file") continue;
    const statePath = joinPath(directory, "state.json");
    if ((await ctx.fs.stat(statePath))?.kind !== "file") {
      await ctx.fs.removeTree(directory); // interrupted before its commit point: nothing was set aside
      continue;
    }
    await moveFilesAside(
      ctx,
      directory,
      parseState(parseJson(statePath, await ctx.fs.readFile(statePath)), statePath),
    );
  }
}

/** Moves the set-aside release's files out of the update folder (idempotent), then marks the set-aside done. */
async function moveFilesAside(ctx: Context, directory: string, state: InstallState): Promise<void> {
  const copy = joinPath(directory, "manifest");
  const paths = await (async (): Promise<string[]> => {
    if ((await ctx.fs.stat(copy))?.kind !== "file") return Object.keys(state.files);
    const manifest = await decodeManifest(ctx, await ctx.fs.readFile(copy), state.manifest, copy);
    return restrict(manifest, installedSelection(state, manifest)).files.map((f) => f.path);
  })();
  for (const path of paths) {
    const from = ctx.layout.file(path);
    if ((await ctx.fs.stat(from))?.kind !== "file") continue;
    const to = joinPath(directory, "files", ...path.split("/"));
    await ctx.fs.mkdirp(parentPath(to));
    await ctx.fs.rename(from, to);
  }
  await ctx.fs.fsyncDir(ctx.layout.root);
  await ctx.fs.writeFileAtomic(joinPath(directory, "done"), new Uint8Array());
}
