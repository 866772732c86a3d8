import { brotli } from "../node/node-codec.js";
import type { Manifest } from "../core/manifest.js";

/**
 * Whether the "auto" layout could still pick inline, decided without compressing the inline form at
 * quality 11 (which took 15.4 s for the 1.37 MB inline form of the 4,456-file OpenRCT2 tree, and
 * 11.5-99.3 s at 10k-100k files: half of a publish's CPU). Returns false only when the inline form is
 * certainly larger than `limit` compressed (`raw` serializes it, only when the first bound does not decide), so "auto" picks the same layout as compressing everything
 * at 11 would; when true, the caller compresses at 11 and decides on the real size.
 *
 * Two bounds, cheapest first:
 * - entropy: each distinct SHA-256 (file, chunk, pack and delta hashes) is 32 random bytes that no
 *   compressor stores in fewer bytes, whatever the JSON around it;
 * - a quality-1 trial (20 ms for that tree): quality 11 was 0.83-0.87x of quality 1 on the corpus
 *   (docs/BENCHMARKS.md, "Publisher"), so with FAST_TO_BEST_MIN below every measured ratio the trial
 *   says "larger than limit" only when quality 11 is too.
 */
export function mayStayInline(manifest: Manifest, raw: () => Uint8Array, limit: number): boolean {
  if (distinctHashes(manifest) * 32 > limit) return false;
  return brotli(raw(), 1).length * FAST_TO_BEST_MIN <= limit;
}

/** Below the lowest quality-11 / quality-1 size ratio measured on real manifests (0.83). */
export const FAST_TO_BEST_MIN = 0.7;

export function distinctHashes(manifest: Manifest): number {
  const seen = new Set<string>();
  for (const pack of manifest.packs) seen.add(pack.id);
  for (const file of manifest.files) {
    seen.add(file.sha256);
    for (const chunk of file.chunks) seen.add(chunk.hash);
    for (const delta of file.deltas ?? []) {
      seen.add(delta.hash);
      seen.add(delta.from);
    }
  }
  return seen.size;
}
