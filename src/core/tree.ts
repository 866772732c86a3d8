import type { PublisherPorts } from "../ports/core-ports.js";
import { canonicalBytes } from "./canonical-json.js";
import { brotli } from "./codec.js";
import { FerryError } from "./errors.js";
import { chunkTuple, contentFeatures, type Manifest, manifestToJson } from "./manifest.js";
import { comparePaths } from "./paths.js";

/**
 * The tree layout of a release (docs/FORMAT.md §5.2): a small header in `manifests/` names a root
 * directory object; directory objects and file recipes are content-addressed objects in `objects/`.
 * Unchanged subtrees keep their hash, so a client that keeps the installed release's objects downloads
 * only the directories on the path to a change and the recipes of changed files.
 */

/** A stored metadata object: SHA-256 and length of the stored bytes, codec, decoded length. */
export interface StoredRef {
  readonly hash: string;
  readonly size: number;
  readonly codec: "br";
  readonly rawSize: number;
}

export interface StoredObject {
  readonly ref: StoredRef;
  readonly bytes: Uint8Array;
}

/** The format feature a tree header announces in `requires`. */
export const TREE_FEATURE = "tree";
/**
 * The format feature a tree header announces when some recipe is split into parts (§5.2): a file of more
 * than RECIPE_SPLIT chunks gets a tree of recipe objects, so an edit re-downloads the parts around it,
 * not the whole chunk list of a multi-gigabyte file.
 */
export const PARTS_FEATURE = "recipe-parts";
/** Files with more chunks than this get a parted recipe. */
export const RECIPE_SPLIT = 512;
/** A leaf part ends after a chunk whose hash starts below this byte value (1 in 128), or at LEAF_MAX. */
const LEAF_BOUNDARY = 2;
const LEAF_MAX = 512;
/** An index part ends after a part whose hash starts below this byte value (1 in 64), or at INDEX_MAX. */
const INDEX_BOUNDARY = 4;
export const INDEX_MAX = 256;

/** A materialized release has at most this many files (a hostile tree can share subtrees to multiply). */
export const MAX_RELEASE_FILES = 2_000_000;
/** Brotli quality of every stored object; a bundle reader recompresses rebuilt objects with it (§5.4). */
export const OBJECT_QUALITY = 11;

/** Encodes a JSON value as a stored object (canonical bytes, Brotli). */
export function storeJson(value: unknown, ports: PublisherPorts): StoredObject {
  const raw = canonicalBytes(value);
  const bytes = brotli(ports.brotli, raw, OBJECT_QUALITY);
  return {
    ref: { hash: ports.crypto.sha256Sync(bytes), size: bytes.length, codec: "br", rawSize: raw.length },
    bytes,
  };
}

interface DirNode {
  readonly dirs: Map<string, DirNode>;
  readonly files: Map<string, Manifest["files"][number]>;
}

/** An earlier release that deltas of this one apply to: its manifest hash and each file's content. */
export interface DeltaSourceRelease {
  readonly hash: string;
  readonly files: ReadonlyMap<string, { readonly sha256: string }>;
}

type Chunks = Manifest["files"][number]["chunks"];

/** Per-object pack table: each object names the packs it points into, so it stands alone. */
function packTable(manifest: Manifest) {
  const table: [string, number][] = [];
  const index = new Map<number, number>();
  return {
    table,
    at(global: number): number {
      let local = index.get(global);
      if (local === undefined) {
        local = table.length;
        const pack = manifest.packs[global]!;
        table.push([pack.id, pack.size]);
        index.set(global, local);
      }
      return local;
    },
  };
}

/**
 * Splits a manifest into a tree header and its objects (each once). A one-chunk file is described inline
 * in its directory (its chunk hash is the file's sha256, so the inline form costs less than a reference);
 * a longer file gets a recipe. Deltas are grouped by the earlier release they apply to, one delta index
 * object per release: a client fetches only the index for the release it has, which lists only files
 * that changed since (docs/FORMAT.md §5.2).
 */
export function buildTree(
  manifest: Manifest,
  ports: PublisherPorts,
  deltaSources: readonly DeltaSourceRelease[] = [],
): { header: unknown; objects: StoredObject[] } {
  const store = (value: unknown): StoredObject => storeJson(value, ports);
  const root: DirNode = { dirs: new Map(), files: new Map() };
  for (const file of manifest.files) {
    const segments = file.path.split("/");
    const name = segments.pop()!;
    let dir = root;
    for (const segment of segments) {
      let next = dir.dirs.get(segment);
      if (!next) {
        next = { dirs: new Map(), files: new Map() };
        dir.dirs.set(segment, next);
      }
      dir = next;
    }
    dir.files.set(name, file);
  }
  const objects = new Map<string, StoredObject>();
  const keep = (object: StoredObject): StoredRef => {
    objects.set(object.ref.hash, object);
    return object.ref;
  };
  let parted = false;
  const writeLeaf = (chunks: Chunks): StoredRef => {
    const table = packTable(manifest);
    const tuples = chunks.map((c) => chunkTuple(c, table.at(c.pack)));
    return keep(store({ format: 1, type: "ferry-recipe", packs: table.table, chunks: tuples }));
  };
  const writeRecipe = (chunks: Chunks): StoredRef => {
    if (chunks.length <= RECIPE_SPLIT) return writeLeaf(chunks);
    parted = true;
    // Content-defined boundaries: an edit changes the parts around it, the others keep their hash.
    let level = splitAt(chunks, (c) => c.hash, LEAF_BOUNDARY, LEAF_MAX).map(writeLeaf);
    while (level.length > INDEX_MAX) {
      level = splitAt(level, (r) => r.hash, INDEX_BOUNDARY, INDEX_MAX).map((parts) =>
        keep(store({ format: 1, type: "ferry-recipe", parts })),
      );
    }
    return keep(store({ format: 1, type: "ferry-recipe", parts: level }));
  };
  const writeDir = (dir: DirNode): StoredRef => {
    const table = packTable(manifest);
    const entries: Record<string, unknown>[] = [];
    for (const [name, sub] of dir.dirs) entries.push({ name, tree: writeDir(sub) });
    for (const [name, f] of dir.files) {
      const base = { name, size: f.size, sha256: f.sha256, executable: f.executable, package: f.package };
      const only = f.chunks.length === 1 ? f.chunks[0]! : undefined;
      if (f.link !== undefined) entries.push({ ...base, link: f.link });
      else if (f.chunks.length === 0) entries.push(base);
      else if (only && only.hash === f.sha256)
        entries.push({ ...base, chunk: chunkTuple(only, table.at(only.pack)).slice(2) });
      else entries.push({ ...base, recipe: writeRecipe(f.chunks) });
    }
    entries.sort((a, b) => comparePaths(a["name"] as string, b["name"] as string));
    return keep(store({ format: 1, type: "ferry-tree", packs: table.table, entries }));
  };
  const tree = writeDir(root);
  const deltas: { from: string; index: StoredRef }[] = [];
  for (const source of deltaSources) {
    const table = packTable(manifest);
    const entries = manifest.files.flatMap((f) => {
      const old = source.files.get(f.path);
      const d = old && f.deltas?.find((candidate) => candidate.from === old.sha256);
      if (!d) return [];
      const { hash, size, offset, length } = d;
      return [
        {
          path: f.path,
          from: d.from,
          fromSize: d.fromSize,
          hash,
          size,
          pack: table.at(d.pack),
          offset,
          length,
        },
      ];
    });
    if (entries.length === 0) continue;
    const index = keep(store({ format: 1, type: "ferry-deltas", packs: table.table, entries }));
    deltas.push({ from: source.hash, index });
  }
  // Every release field of the inline form except the file list and pack table, which the tree replaces.
  const release = Object.entries(manifestToJson(manifest) as Record<string, unknown>).filter(
    ([field]) => field !== "files" && field !== "packs",
  );
  const header = {
    ...Object.fromEntries(release),
    requires: [TREE_FEATURE, ...(parted ? [PARTS_FEATURE] : []), ...contentFeatures(manifest)],
    tree,
    deltas,
    totals: { files: manifest.files.length, bytes: manifest.files.reduce((s, f) => s + f.size, 0) },
  };
  return { header, objects: [...objects.values()] };
}

/**
 * Groups items, ending a group after an item whose key's first byte is below `boundary` or when it
 * reaches `max`. Boundaries depend on content only, so they survive insertions elsewhere. Groups of
 * one item each would not shrink a level: then fixed groups of 64 are used (never for real hashes).
 */
function splitAt<T>(items: readonly T[], key: (item: T) => string, boundary: number, max: number): T[][] {
  const groups: T[][] = [];
  let current: T[] = [];
  for (const item of items) {
    current.push(item);
    if (current.length >= max || Number.parseInt(key(item).slice(0, 2), 16) < boundary) {
      groups.push(current);
      current = [];
    }
  }
  if (current.length > 0) groups.push(current);
  if (groups.length < items.length || items.length <= 1) return groups;
  const fixed: T[][] = [];
  for (let i = 0; i < items.length; i += 64) fixed.push(items.slice(i, i + 64));
  return fixed;
}

export function objectPath(hash: string): string {
  return `objects/${hash}`;
}

export function treeError(document: string, what: string): FerryError {
  return new FerryError(
    "E_FORMAT",
    `${document} is malformed: invalid ${what}. The repository is corrupt or was written by an incompatible tool.`,
    { document, field: what },
  );
}
