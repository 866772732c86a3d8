/**
 * How each repository path is uploaded: in which stage of a publish, and with which HTTP headers.
 * Pure. The stage order is the safety argument for eventually consistent stores (docs/HOSTING.md):
 * nothing names an object before it is stored, so a publish cut off at any point leaves the old
 * release fully served.
 */
export type UploadStage = "objects" | "metadata" | "roots" | "pointers";

export const STAGE_ORDER: readonly UploadStage[] = ["objects", "metadata", "roots", "pointers"];

export interface ObjectPolicy {
  readonly stage: UploadStage;
  /** Named by the SHA-256 of its content: never changes, so an object already present is skipped. */
  readonly immutable: boolean;
  readonly contentType: string;
  readonly cacheControl: string;
}

/** A year: the longest max-age caches honour; content-addressed objects never change. */
export const IMMUTABLE_CACHE_CONTROL = "public, max-age=31536000, immutable";
/** Pointers and roots may be replaced: caches revalidate every time (a 304 keeps a check tiny). */
export const MUTABLE_CACHE_CONTROL = "no-cache";

const CONTENT_ADDRESSED = /(^|\/)[0-9a-f]{64}(\.[a-z.]+)?$/;

export function objectPolicy(path: string): ObjectPolicy {
  const json = path.endsWith(".json");
  const contentType = json ? "application/json" : "application/octet-stream";
  if (path.startsWith("channels/")) {
    return { stage: "pointers", immutable: false, contentType, cacheControl: MUTABLE_CACHE_CONTROL };
  }
  if (!CONTENT_ADDRESSED.test(path)) {
    // root/N.json, ferry-repo.json and anything unknown: small, mutable, before the pointers.
    return { stage: "roots", immutable: false, contentType, cacheControl: MUTABLE_CACHE_CONTROL };
  }
  // Release metadata (manifests, pack indexes, tree objects) names packs: it goes after every pack.
  const metadata = path.startsWith("manifests/") || path.startsWith("objects/") || path.endsWith(".idx.json");
  return {
    stage: metadata ? "metadata" : "objects",
    immutable: true,
    contentType,
    cacheControl: IMMUTABLE_CACHE_CONTROL,
  };
}
