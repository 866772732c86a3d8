import { decode } from "../../core/codec.js";
import type { ManifestRef } from "../../core/pointer.js";
import {
  type LoadObject,
  type MaterializedRelease,
  type ReadOptions,
  readRelease,
} from "../../core/tree-read.js";
import type { StoredRef } from "../../core/tree.js";
import type { Context } from "../context.js";
import { readKept } from "./kept-objects.js";
import { bundleObjects } from "./metadata-bundle.js";
import { checkStoredBytes, decodeManifestJson, type RemoteRepository } from "./remote.js";

/** Metadata objects fetched at once while walking a tree release. */
const OBJECT_CONCURRENCY = 8;

/**
 * A release from its pinned manifest bytes. Tree objects come from `.ferry/objects/` when kept there
 * (checked against their hash like downloaded ones), otherwise from the repository, and are then kept:
 * so a client downloads only the directory objects on the path to a change and the recipes of changed
 * files, and keeps everything the installed release needs for repair without the network.
 */
export async function loadRelease(
  ctx: Context,
  ref: ManifestRef,
  bytes: Uint8Array,
  where: string,
  repo: RemoteRepository | undefined,
  options: ReadOptions = {},
): Promise<MaterializedRelease> {
  const json = await decodeManifestJson(ctx, bytes, ref, where);
  const document = `release manifest ${where}`;
  // Coming from the installed release: its metadata bundle, when listed, supplies the new objects.
  const primed =
    repo && options.deltasFrom !== undefined
      ? await bundleObjects(ctx, json, document, options.deltasFrom, repo)
      : undefined;
  return readRelease(json, document, objectLoader(ctx, repo, primed), options);
}

/**
 * Loads tree objects from `.ferry/objects/` when kept there (checked against their hash like downloaded
 * ones), otherwise from the repository, and keeps what it downloads. Without a repository every object
 * must be kept (the installed release keeps all of its own). `primed`: objects a metadata bundle rebuilt
 * (already checked against their hash), used before the kept ones.
 */
export function objectLoader(
  ctx: Context,
  repo: RemoteRepository | undefined,
  primed?: ReadonlyMap<string, Uint8Array>,
): LoadObject {
  const limit = limiter(OBJECT_CONCURRENCY);
  return async (object: StoredRef, what: string): Promise<Uint8Array> => {
    const local = ctx.layout.object(object.hash);
    const rebuilt = primed?.get(object.hash);
    let stored =
      rebuilt && rebuilt.length === object.size ? rebuilt : await readKept(ctx, local, object, what);
    if (!stored) {
      if (!repo) {
        stored = await ctx.fs.readFile(local);
        await checkStoredBytes(ctx.crypto, stored, object, local, what, "the installed release");
      } else {
        stored = await limit(() => repo.objectBytes(object, what, ctx.signal));
        if (!ctx.readOnly) {
          await ctx.fs.mkdirp(ctx.layout.objects);
          await ctx.fs.writeFileAtomic(local, stored);
        }
      }
    }
    return decode(ctx.brotli, object.codec, stored, object.rawSize, what);
  };
}

/** Removes kept objects that the installed release does not reference (after a commit). */
export async function pruneKeptObjects(ctx: Context, keep: ReadonlySet<string>): Promise<void> {
  for (const name of await ctx.fs.readdir(ctx.layout.objects)) {
    if (!keep.has(name)) await ctx.fs.unlink(ctx.layout.object(name));
  }
}

function limiter(max: number): <T>(work: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(work: () => Promise<T>): Promise<T> => {
    // A finishing task hands its slot straight to the next waiter, so at most `max` ever run.
    if (active < max) active++;
    else await new Promise<void>((resume) => waiting.push(resume));
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}
