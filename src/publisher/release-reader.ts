import { decodeUpTo, MAX_DECODED_BYTES } from "../core/codec.js";
import { decode, nodeBrotli } from "../node/node-codec.js";
import { FerryError } from "../core/errors.js";
import { sha256 } from "../node/node-crypto.js";
import { JsonReader, parseJson } from "../core/json-reader.js";
import type { Manifest } from "../core/manifest.js";
import { type BundleRef, readBundleRefs } from "../core/metadata-bundle.js";
import {
  isTreeHeader,
  type MaterializedRelease,
  type ReadOptions,
  readRelease,
  readStoredRef,
} from "../core/tree-read.js";
import { objectPath, type StoredRef } from "../core/tree.js";
import type { RepoStore } from "./repo-store.js";

/**
 * A release the repository already holds, read back by the publisher (deltas from earlier releases,
 * later prune and reports). Returns undefined when its manifest is gone (pruned history); a manifest or
 * object whose bytes do not match its hash is an error: the repository is damaged.
 */
export async function readStoredRelease(
  store: RepoStore,
  ref: { readonly hash: string; readonly size: number; readonly rawSize?: number },
): Promise<Manifest | undefined> {
  return (await readStoredReleaseDetail(store, ref))?.manifest;
}

/** A stored release with what it references besides packs: tree objects and its delta indexes. */
export interface StoredReleaseDetail extends MaterializedRelease {
  /** Decoded length of the stored manifest (inline) or header (tree). */
  readonly headerRawSize: number;
  /** The delta index of every earlier release the header lists (tree layout; none for inline). */
  readonly deltaIndexes: readonly { readonly from: string; readonly index: StoredRef }[];
  /** The metadata bundles the header lists (docs/FORMAT.md §5.4; none for inline). */
  readonly bundles: readonly BundleRef[];
  /** Reads and verifies one object of the release (e.g. a delta index). */
  readonly load: (object: StoredRef, what: string) => Promise<Uint8Array>;
}

/** readStoredRelease with the objects it walked (and, with `deltasFrom`, that release's deltas). */
export async function readStoredReleaseDetail(
  store: RepoStore,
  ref: { readonly hash: string; readonly size: number; readonly rawSize?: number },
  options: ReadOptions = {},
): Promise<StoredReleaseDetail | undefined> {
  const path = `manifests/${ref.hash}`;
  const bytes = await store.read(path);
  if (!bytes) return undefined;
  const header = verified(path, bytes, ref.hash, ref.size);
  // A manifest's `previous` names no decoded size: the publisher then decodes under the global cap.
  const raw =
    ref.rawSize === undefined
      ? decodeUpTo(nodeBrotli, header, MAX_DECODED_BYTES, path)
      : decode("br", header, ref.rawSize, path);
  const load = async (object: StoredRef, what: string): Promise<Uint8Array> => {
    const at = objectPath(object.hash);
    const stored = await store.read(at);
    if (!stored) {
      throw new FerryError(
        "E_FORMAT",
        `${at} (${what}) is missing from the repository. Restore it from a backup, or publish with deltaHistory 0.`,
        { path: at },
      );
    }
    return decode(object.codec, verified(at, stored, object.hash, object.size), object.rawSize, what);
  };
  const json = parseJson(path, raw);
  const release = await readRelease(json, path, load, options);
  const deltaIndexes = isTreeHeader(json)
    ? new JsonReader(path, json)
        .objects("deltas")
        .map((d) => ({ from: d.string("from"), index: readStoredRef(d.object("index")) }))
    : [];
  const bundles = isTreeHeader(json) ? readBundleRefs(json, path) : [];
  return { ...release, headerRawSize: raw.length, deltaIndexes, bundles, load };
}

function verified(path: string, bytes: Uint8Array, hash: string, size: number): Uint8Array {
  if (bytes.length !== size || sha256(bytes) !== hash) {
    throw new FerryError(
      "E_HASH_MISMATCH",
      `${path} in the repository does not match its hash; the repository is damaged. Restore it from a backup, or publish with deltaHistory 0.`,
      { path },
    );
  }
  return bytes;
}
