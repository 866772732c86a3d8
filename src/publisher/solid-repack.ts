import type { SolidLocation } from "../core/solid-block.js";
import type { KnownChunk } from "./repo-index.js";

/**
 * Blocks an earlier release wrote hold chunks this release no longer uses (files changed since): a fresh
 * install fetches such a block whole for its few live chunks. A block whose chunks this release uses
 * make up less than SPARSE_LIVE of its decoded bytes has its live chunks packed again into this
 * release's blocks (like a repack); clients that hold them locally never notice, and the old block stays
 * for the releases that name it.
 */
export const SPARSE_LIVE = 0.5;

interface PendingFile {
  readonly file: { readonly path: string; readonly absolute: string; readonly link?: string | undefined };
  readonly chunks: readonly { readonly hash: string; readonly size: number }[];
}

export interface RepackChunk {
  readonly hash: string;
  readonly size: number;
  readonly path: string;
  readonly absolute: string;
  readonly offset: number;
}

/** The chunks of this release (first occurrence each) that lie in sparse known blocks. */
export function sparseBlockChunks(
  files: readonly PendingFile[],
  known: ReadonlyMap<string, KnownChunk>,
  fresh: ReadonlyMap<string, unknown>,
): RepackChunk[] {
  const live = new Map<string, { solid: SolidLocation; bytes: number; chunks: RepackChunk[] }>();
  const seen = new Set<string>();
  for (const { file, chunks } of files) {
    if (file.link !== undefined) continue;
    let offset = 0;
    for (const { hash, size } of chunks) {
      const at = offset;
      offset += size;
      const old = known.get(hash);
      if (!old?.solid || fresh.has(hash) || seen.has(hash)) continue;
      seen.add(hash);
      const key = `${old.pack}:${old.offset}`;
      const block = live.get(key) ?? { solid: old.solid, bytes: 0, chunks: [] };
      live.set(key, block);
      block.bytes += size;
      block.chunks.push({ hash, size, path: file.path, absolute: file.absolute, offset: at });
    }
  }
  return [...live.values()].filter((b) => b.bytes < SPARSE_LIVE * b.solid.blockSize).flatMap((b) => b.chunks);
}
