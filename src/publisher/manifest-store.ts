import { nodePorts } from "../node/node-ports.js";
import type { PublisherPorts } from "../ports/core-ports.js";
import { brotli } from "../node/node-codec.js";
import { sha256 } from "../node/node-crypto.js";
import { type Manifest, serializeManifest } from "../core/manifest.js";
import { buildTree, type DeltaSourceRelease, objectPath, type StoredRef, storeJson } from "../core/tree.js";
import { buildBundles } from "./metadata-bundles.js";
import type { RepoStore } from "./repo-store.js";
import { mayStayInline } from "./layout-choice.js";

/**
 * An inline manifest up to this many compressed bytes is stored inline by the "auto" layout: one small
 * object beats a header plus directory objects (docs/FORMAT.md §5; measured in docs/BENCHMARKS.md).
 */
export const INLINE_MANIFEST_MAX = 64 * 1024;

export interface StoredManifest {
  readonly ref: StoredRef;
  readonly layout: "inline" | "tree";
  readonly objects: number;
  readonly newObjects: number;
  /** Metadata bundles the header lists (docs/FORMAT.md §5.4), and their bytes. */
  readonly bundles: number;
  readonly bundleBytes: number;
}

/** Earlier tree releases of the channel that get a metadata bundle by default (docs/FORMAT.md §5.4). */
export const DEFAULT_METADATA_HISTORY = 3;

/**
 * Writes a release manifest in the chosen layout. Order matters for readers of a store that is being
 * written: every object a header names is written before the header, so a header is never visible
 * with a missing object.
 */
export async function storeManifest(
  store: RepoStore,
  manifest: Manifest,
  layout: "auto" | "inline" | "tree",
  deltaSources: readonly DeltaSourceRelease[],
  metadataHistory = DEFAULT_METADATA_HISTORY,
  ports: PublisherPorts = nodePorts,
): Promise<StoredManifest> {
  let inline: { ref: StoredRef; bytes: Uint8Array } | undefined;
  if (layout !== "tree") {
    let raw: Uint8Array | undefined;
    const serialized = (): Uint8Array => (raw ??= serializeManifest(manifest));
    // "auto" compresses the inline form at 11 only while it may fit (layout-choice.ts): same choice.
    if (layout === "inline" || mayStayInline(manifest, serialized, INLINE_MANIFEST_MAX)) {
      const raw = serialized();
      const bytes = brotli(raw, 11);
      inline = { ref: { hash: sha256(bytes), size: bytes.length, codec: "br", rawSize: raw.length }, bytes };
      if (layout === "inline" || bytes.length <= INLINE_MANIFEST_MAX) {
        await store.write(`manifests/${inline.ref.hash}`, inline.bytes);
        return { ref: inline.ref, layout: "inline", objects: 0, newObjects: 0, bundles: 0, bundleBytes: 0 };
      }
    }
  }
  const { header, objects } = buildTree(manifest, ports, deltaSources);
  let written = 0;
  for (const object of objects) {
    const path = objectPath(object.ref.hash);
    if (await store.exists(path)) continue; // content-addressed: an existing object has these bytes
    await store.write(path, object.bytes);
    written++;
  }
  const bundles = await buildBundles(
    store,
    header as Parameters<typeof buildBundles>[1],
    objects,
    metadataHistory,
  );
  for (const bundle of bundles.objects) {
    const path = objectPath(bundle.hash);
    if (!(await store.exists(path))) await store.write(path, bundle.bytes);
  }
  // No `bundles` field without bundles: such a header keeps the bytes it had before the feature.
  const withBundles = bundles.refs.length === 0 ? header : { ...(header as object), bundles: bundles.refs };
  const stored = storeJson(withBundles, ports);
  await store.write(`manifests/${stored.ref.hash}`, stored.bytes);
  return {
    ...{ ref: stored.ref, layout: "tree" as const, objects: objects.length, newObjects: written },
    bundles: bundles.refs.length,
    bundleBytes: bundles.objects.reduce((s, b) => s + b.bytes.length, 0),
  };
}
