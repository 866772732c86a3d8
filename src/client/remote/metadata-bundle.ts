import { decode } from "../../core/codec.js";
import { isFerryError } from "../../core/errors.js";
import { parseBundle, readBundleRefs, rebuildEntry, restoreStored } from "../../core/metadata-bundle.js";
import { isTreeHeader } from "../../core/tree-read.js";
import { objectPath } from "../../core/tree.js";
import type { Context } from "../context.js";
import { readKept } from "./kept-objects.js";
import type { RemoteRepository } from "./remote.js";

/** Failures of the bundle's download that fall back to fetching objects one by one. */
const FALLBACK_CODES = new Set(["E_HTTP", "E_NETWORK", "E_TIMEOUT", "E_RANGE"]);

/**
 * The objects the new tree release's metadata bundle for the installed release (`from`) rebuilds
 * (docs/FORMAT.md §5.4), by hash, as stored bytes that hash to their refs; kept in `.ferry/objects/`
 * like downloaded ones. Empty when the header lists no bundle for `from` or the bundle cannot be
 * downloaded (a `metadata-bundle-fallback` event): the walk then fetches every object on its own.
 * A bundle that does not match the header's pin, or does not rebuild what it lists, is an error.
 */
export async function bundleObjects(
  ctx: Context,
  json: unknown,
  document: string,
  from: string,
  repo: RemoteRepository,
): Promise<Map<string, Uint8Array>> {
  const objects = new Map<string, Uint8Array>();
  if (!isTreeHeader(json)) return objects;
  const ref = readBundleRefs(json, document).find((b) => b.from === from);
  if (!ref) return objects;
  const url = repo.url(objectPath(ref.hash));
  let bytes: Uint8Array;
  try {
    bytes = await repo.bundleBytes(ref, ctx.signal);
  } catch (error) {
    if (!isFerryError(error) || !FALLBACK_CODES.has(error.code)) throw error;
    ctx.emit({ type: "metadata-bundle-fallback", url, code: error.code, message: error.message });
    return objects;
  }
  const what = `metadata bundle ${url}`;
  let skipped = 0;
  for (const entry of parseBundle(bytes, what)) {
    const local = ctx.layout.object(entry.ref.hash);
    if (await readKept(ctx, local, entry.ref, "metadata object")) continue;
    let baseRaw: Uint8Array | undefined;
    if (entry.base) {
      const base = entry.base;
      const kept = await readKept(ctx, ctx.layout.object(base.hash), base, "metadata bundle base");
      if (!kept) {
        skipped++; // not kept (repaired or pruned install): the walk downloads this object
        continue;
      }
      baseRaw = decode(ctx.brotli, base.codec, kept, base.rawSize, `base ${base.hash} of ${what}`);
    }
    const raw = await rebuildEntry(ctx, entry, baseRaw, `object ${entry.ref.hash} of ${what}`);
    const stored = await restoreStored(ctx, raw, entry.ref);
    if (!stored) {
      skipped++; // this Brotli encoder does not reproduce the publisher's bytes: downloaded instead
      continue;
    }
    objects.set(entry.ref.hash, stored);
    if (!ctx.readOnly) {
      await ctx.fs.mkdirp(ctx.layout.objects);
      await ctx.fs.writeFileAtomic(local, stored);
    }
  }
  ctx.emit({ type: "metadata-bundle", url, from, bytes: bytes.length, objects: objects.size, skipped });
  return objects;
}
