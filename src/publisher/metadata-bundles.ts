import { decodeUpTo, MAX_DECODED_BYTES } from "../core/codec.js";
import { FerryError } from "../core/errors.js";
import { type BundleInput, type BundleRef, encodeBundle, MAX_BUNDLE_SIZE } from "../core/metadata-bundle.js";
import { isTreeHeader } from "../core/tree-read.js";
import { objectPath, type StoredObject, type StoredRef } from "../core/tree.js";
import { decode, nodeBrotli } from "../node/node-codec.js";
import { sha256 } from "../node/node-crypto.js";
import type { RepoStore } from "./repo-store.js";

/**
 * Publishes metadata bundles (docs/FORMAT.md §5.4): for each of the last `count` tree releases of the
 * channel, one object carrying every directory, recipe and delta-index object a client holding that
 * release needs, as deltas against that release's objects at the same place. Work follows what changed:
 * both trees are walked together and a subtree with the same hash on both sides is not entered.
 */

/**
 * Bytes one request saved is worth when deciding whether a bundle pays: an HTTP/1.1 request and its
 * response headers take a few hundred bytes, so this undercounts.
 */
export const REQUEST_ALLOWANCE = 128;

/** A header in the making: the fields this module reads. */
interface HeaderFields {
  readonly tree: StoredRef;
  readonly previous: { readonly hash: string; readonly size: number } | null;
  readonly deltas: readonly { readonly from: string; readonly index: StoredRef }[];
}

export interface BuiltBundles {
  readonly refs: BundleRef[];
  /** The bundle objects, written to `objects/<hash>` before the header. */
  readonly objects: { readonly hash: string; readonly bytes: Uint8Array }[];
}

type Load = (ref: StoredRef) => Promise<Uint8Array>;

interface TreeJson {
  readonly entries?: readonly { name: string; tree?: StoredRef; recipe?: StoredRef }[];
  readonly parts?: readonly StoredRef[];
}

export async function buildBundles(
  store: RepoStore,
  header: HeaderFields,
  newObjects: readonly StoredObject[],
  count: number,
): Promise<BuiltBundles> {
  const byHash = new Map(newObjects.map((o) => [o.ref.hash, o]));
  const loadNew: Load = async (ref) =>
    decode(ref.codec, byHash.get(ref.hash)!.bytes, ref.rawSize, "new object");
  const loadOld: Load = async (ref) =>
    decode(
      ref.codec,
      await readVerified(store, objectPath(ref.hash), ref),
      ref.rawSize,
      objectPath(ref.hash),
    );
  const refs: BundleRef[] = [];
  const objects: { hash: string; bytes: Uint8Array }[] = [];
  let previous = header.previous;
  for (let i = 0; i < count && previous; i++) {
    const path = `manifests/${previous.hash}`;
    const stored = await store.read(path);
    if (!stored) break; // pruned history
    const old = JSON.parse(
      new TextDecoder().decode(
        decodeUpTo(nodeBrotli, verified(path, stored, previous), MAX_DECODED_BYTES, path),
      ),
    ) as HeaderFields;
    const from = previous.hash;
    previous = old.previous ?? null;
    if (!isTreeHeader(old)) continue;
    const inputs: BundleInput[] = [];
    const seen = new Set<string>();
    await collect(header.tree, old.tree, loadNew, loadOld, inputs, seen);
    const index = header.deltas.find((d) => d.from === from)?.index;
    if (index && !seen.has(index.hash)) inputs.push({ ref: index, raw: await loadNew(index) });
    if (inputs.length === 0) continue;
    const bytes = encodeBundle(nodeBrotli, inputs, sha256);
    // Published only when it beats fetching its objects one by one, counting each request saved as
    // REQUEST_ALLOWANCE bytes (HTTP headers cost more than that per request).
    const alone = inputs.reduce((s, e) => s + e.ref.size + REQUEST_ALLOWANCE, 0);
    if (bytes.length > alone || bytes.length > MAX_BUNDLE_SIZE) continue;
    const hash = sha256(bytes);
    refs.push({ from, hash, size: bytes.length });
    objects.push({ hash, bytes });
  }
  return { refs, objects };
}

/**
 * The objects of the new tree under `ref` that the old tree lacks at the same place, each with the old
 * object there as its base; subtrees whose hash is unchanged are skipped whole.
 */
async function collect(
  ref: StoredRef,
  oldRef: StoredRef | undefined,
  loadNew: Load,
  loadOld: Load,
  out: BundleInput[],
  seen: Set<string>,
): Promise<void> {
  if (oldRef?.hash === ref.hash || seen.has(ref.hash)) return;
  seen.add(ref.hash);
  const raw = await loadNew(ref);
  const oldRaw = oldRef ? await loadOld(oldRef) : undefined;
  out.push({ ref, raw, base: oldRef && oldRaw ? { ref: oldRef, raw: oldRaw } : undefined });
  const object = parse(raw);
  const old = oldRaw ? parse(oldRaw) : {};
  if (object.entries) {
    const before = new Map((old.entries ?? []).map((e) => [e.name, e]));
    for (const entry of object.entries) {
      const was = before.get(entry.name);
      if (entry.tree) await collect(entry.tree, was?.tree, loadNew, loadOld, out, seen);
      if (entry.recipe) await collect(entry.recipe, was?.recipe, loadNew, loadOld, out, seen);
    }
  }
  for (const [i, part] of (object.parts ?? []).entries())
    await collect(part, old.parts?.[i], loadNew, loadOld, out, seen);
}

function parse(raw: Uint8Array): TreeJson {
  return JSON.parse(new TextDecoder().decode(raw)) as TreeJson;
}

async function readVerified(
  store: RepoStore,
  path: string,
  ref: { hash: string; size: number },
): Promise<Uint8Array> {
  const bytes = await store.read(path);
  if (!bytes)
    throw new FerryError(
      "E_FORMAT",
      `${path} is missing from the repository. Restore it from a backup, or publish with metadataHistory 0.`,
      { path },
    );
  return verified(path, bytes, ref);
}

function verified(path: string, bytes: Uint8Array, ref: { hash: string; size: number }): Uint8Array {
  if (bytes.length !== ref.size || sha256(bytes) !== ref.hash)
    throw new FerryError(
      "E_HASH_MISMATCH",
      `${path} in the repository does not match its hash; the repository is damaged. Restore it from a backup, or publish with metadataHistory 0.`,
      { path },
    );
  return bytes;
}
