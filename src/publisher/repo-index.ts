import type { Codec } from "../core/codec.js";
import type { SolidLocation } from "../core/solid-block.js";
import { JsonReader, parseJson } from "../core/json-reader.js";
import type { RepoStore } from "./repo-store.js";

export interface KnownChunk {
  readonly size: number;
  readonly pack: string;
  readonly packSize: number;
  readonly offset: number;
  readonly length: number;
  readonly codec: Codec;
  readonly solid?: SolidLocation;
}

/** Every chunk the repository already stores, from the pack indexes (dedupe across releases). */
export async function loadChunkIndex(store: RepoStore): Promise<Map<string, KnownChunk>> {
  const known = new Map<string, KnownChunk>();
  const names = (await store.list("packs")).filter((n) => n.endsWith(".idx.json")).sort();
  for (const name of names) {
    const bytes = await store.read(name);
    if (!bytes) continue;
    const r = new JsonReader(`pack index ${name}`, parseJson(`pack index ${name}`, bytes));
    const pack = r.string("pack", /^[0-9a-f]{64}$/);
    const packSize = r.integer("size");
    // The index is only trusted as far as its pack exists: a pack removed by hand must not be referenced.
    if (!(await store.exists(`packs/${pack}.pack`))) continue;
    for (const tuple of r.array("chunks")) {
      const [hash, size, offset, length, codec, blockSize, blockOffset] = tuple as [
        string,
        number,
        number,
        number,
        Codec,
        number?,
        number?,
      ];
      // A chunk in a solid block (docs/FORMAT.md §4.1) is reused with its block's location.
      const solid =
        blockSize === undefined || blockOffset === undefined ? {} : { solid: { blockSize, blockOffset } };
      if (!known.has(hash)) known.set(hash, { size, pack, packSize, offset, length, codec, ...solid });
    }
  }
  return known;
}
