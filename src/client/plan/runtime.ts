import { dirname, join } from "node:path";
import { canonicalJson } from "../../core/canonical-json.js";
import { FerryError } from "../../core/errors.js";
import { parseJson } from "../../core/json-reader.js";
import { type PointerBody, RUNTIME_PATTERN } from "../../core/pointer.js";
import { restrict } from "../../core/selection.js";
import { type ClientDeps, type Context, makeContext, withInstall } from "../context.js";
import { installedSelection } from "../install/content.js";
import { decodeManifest } from "../remote/remote.js";
import { type InstallState, parseState, readStoredState } from "../install/state.js";
import { withStatFiles } from "../install/stat-cache.js";

/**
 * The runtime gate (docs/PACKAGES.md): a release may name the runtime (app/engine build) it needs. A
 * client configured with its runtime installs only releases for it, and when the app itself was upgraded
 * (the installed release names another runtime) the stale release is set aside: `.ferry/state.json` is
 * renamed into `.ferry/set-aside/<id>/` (one atomic step: from then on nothing is installed and the base
 * bundle is served), then the release's files are moved after it.
 */

export interface SetAsideRecord {
  readonly reason: "runtime";
  readonly version: string;
  /** The runtime the set-aside release was published for, and the client's. */
  readonly runtime: string;
  readonly clientRuntime: string;
  readonly at: string;
  /** Where the state, manifest and files went. */
  readonly directory: string;
}

export function checkRuntimeName(runtime: string | undefined): void {
  if (runtime !== undefined && !RUNTIME_PATTERN.test(runtime)) {
    throw new FerryError(
      "E_USAGE",
      `Invalid runtime ${JSON.stringify(runtime)}: use letters, digits and . + _ - (at most 64).`,
      { runtime },
    );
  }
}

/** A release for another runtime is refused; a release that names none, or a client that names none, passes. */
export function runtimeMismatch(body: PointerBody, clientRuntime: string | undefined): boolean {
  return clientRuntime !== undefined && body.runtime !== undefined && body.runtime !== clientRuntime;
}

export function runtimeError(body: PointerBody, clientRuntime: string): FerryError {
  return new FerryError(
    "E_RUNTIME",
    `Channel '${body.channel}' offers ${body.version} for runtime ${body.runtime ?? "(any)"}, but this client runs ${clientRuntime} and has no release for it installed: nothing was installed, keep using the base bundle. Publish a release with --runtime ${clientRuntime}.`,
    { version: body.version, runtime: body.runtime ?? null, clientRuntime },
  );
}

function setAsideRoot(ctx: Context): string {
  return join(ctx.layout.ferry, "set-aside");
}

/**
 * Sets the installed release aside when it was made for another runtime than `clientRuntime`, after
 * finishing any set-aside a crash interrupted. Runs under the install lock. Returns what was set aside.
 */
export async function setAsideStaleRelease(
  ctx: Context,
  clientRuntime: string | undefined,
): Promise<SetAsideRecord | undefined> {
  await finishSetAsides(ctx);
  // As stored (a large install's stat cache is read only when the release is actually set aside).
  const stored = await readStoredState(ctx.fs, ctx.layout);
  if (
    clientRuntime === undefined ||
    !stored ||
    stored.runtime === undefined ||
    stored.runtime === clientRuntime
  )
    return undefined;
  const state = await withStatFiles(ctx.fs, ctx.layout, stored);
  const at = ctx.clock.now();
  const directory = join(setAsideRoot(ctx), `${at.getTime()}-${state.version}`);
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
    join(directory, "record.json"),
    new TextEncoder().encode(canonicalJson(record)),
  );
  const manifest = ctx.layout.manifest(state.manifest.hash);
  if ((await ctx.fs.stat(manifest))?.kind === "file")
    await ctx.fs.writeFileAtomic(join(directory, "manifest"), await ctx.fs.readFile(manifest));
  // The commit point: once state.json has moved, the install holds no release.
  await ctx.fs.rename(ctx.layout.state, join(directory, "state.json"));
  await ctx.fs.fsyncDir(ctx.layout.ferry);
  await ctx.fs.fsyncDir(directory);
  await moveFilesAside(ctx, directory, state);
  ctx.emit({ type: "set-aside", ...record });
  return record;
}

/** Completes set-asides whose state moved but whose files may not all have (a crash in between). */
async function finishSetAsides(ctx: Context): Promise<void> {
  for (const name of (await ctx.fs.readdir(setAsideRoot(ctx))).sort()) {
    const directory = join(setAsideRoot(ctx), name);
    if ((await ctx.fs.stat(join(directory, "done")))?.kind === "file") continue;
    const statePath = join(directory, "state.json");
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
  const copy = join(directory, "manifest");
  const paths = await (async (): Promise<string[]> => {
    if ((await ctx.fs.stat(copy))?.kind !== "file") return Object.keys(state.files);
    const manifest = decodeManifest(await ctx.fs.readFile(copy), state.manifest, copy);
    return restrict(manifest, installedSelection(state, manifest)).files.map((f) => f.path);
  })();
  for (const path of paths) {
    const from = ctx.layout.file(path);
    if ((await ctx.fs.stat(from))?.kind !== "file") continue;
    const to = join(directory, "files", ...path.split("/"));
    await ctx.fs.mkdirp(dirname(to));
    await ctx.fs.rename(from, to);
  }
  await ctx.fs.fsyncDir(ctx.layout.root);
  await ctx.fs.writeFileAtomic(join(directory, "done"), new Uint8Array());
}

/**
 * For an app at startup, before it resolves content: sets a release made for another runtime aside
 * (no network). Returns the record, or undefined when the installed release fits (or nothing is installed).
 */
export async function applyRuntimeGate(
  options: ClientDeps & { readonly installDir: string; readonly runtime: string },
): Promise<SetAsideRecord | undefined> {
  checkRuntimeName(options.runtime);
  const ctx = makeContext(options.installDir, options);
  return withInstall(ctx, options, () => setAsideStaleRelease(ctx, options.runtime));
}

/** Set-aside records of an install, oldest first. */
export async function listSetAside(installDir: string, deps: ClientDeps = {}): Promise<SetAsideRecord[]> {
  const ctx = makeContext(installDir, deps);
  const out: SetAsideRecord[] = [];
  for (const name of (await ctx.fs.readdir(setAsideRoot(ctx))).sort()) {
    const path = join(setAsideRoot(ctx), name, "record.json");
    if ((await ctx.fs.stat(path))?.kind === "file")
      out.push(parseJson(path, await ctx.fs.readFile(path)) as SetAsideRecord);
  }
  return out;
}
