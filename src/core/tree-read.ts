import { SYMLINKS_FEATURE } from "./links.js";
import { SOLID_FEATURE } from "./solid-block.js";
import { checkFormatHeader, JsonReader } from "./json-reader.js";
import { type Manifest, parseManifest } from "./manifest.js";
import { comparePaths } from "./paths.js";
import { MAX_RELEASE_FILES, PARTS_FEATURE, type StoredRef, TREE_FEATURE, treeError } from "./tree.js";
import { type LoadObject, type RawFile, readStoredRef, TreeWalker } from "./tree-walker.js";

export { type LoadObject, readStoredRef } from "./tree-walker.js";

/**
 * Reading the tree layout (docs/FORMAT.md §5.2) whole. Everything `load` returns is validated by the
 * walker, and the result is validated again as a whole by parseManifest, exactly like an inline manifest.
 */
export interface MaterializedRelease {
  readonly manifest: Manifest;
  /** Every object the release references (directories and recipes), each once. */
  readonly objects: readonly StoredRef[];
}

const HASH = /^[0-9a-f]{64}$/;

/** True when a release header announces the tree layout. */
export function isTreeHeader(json: unknown): boolean {
  const requires = (json as { requires?: unknown } | null)?.requires;
  return Array.isArray(requires) && requires.includes(TREE_FEATURE);
}

export interface ReadOptions {
  /**
   * Manifest hash of the release the reader has installed: the tree's delta index for it is read and its
   * deltas attached to the files (a tree release carries no other deltas). Absent: no deltas.
   */
  readonly deltasFrom?: string;
  /** Refuse trees with more files (default MAX_RELEASE_FILES). */
  readonly maxFiles?: number;
}

/** A release from either layout: an inline manifest as is, a tree header by walking its objects. */
export async function readRelease(
  json: unknown,
  document: string,
  load: LoadObject,
  options: ReadOptions = {},
): Promise<MaterializedRelease> {
  if (!isTreeHeader(json)) return { manifest: parseManifest(json, document), objects: [] };
  return materializeTree(json, document, load, options);
}

/** The fields of a tree header: its root, totals and delta indexes by source release. */
export interface TreeHeader {
  readonly root: StoredRef;
  /** Some recipe is parted (PARTS_FEATURE): listing objects must read recipes. */
  readonly parted: boolean;
  readonly files: number;
  readonly bytes: number;
  readonly deltas: ReadonlyMap<string, StoredRef>;
}

export function readTreeHeader(json: unknown, document: string): TreeHeader {
  const header = new JsonReader(document, json);
  checkFormatHeader(header, "ferry-release", [TREE_FEATURE, PARTS_FEATURE, SYMLINKS_FEATURE, SOLID_FEATURE]);
  const root = readStoredRef(header.object("tree"));
  const totals = header.object("totals");
  const deltas = new Map<string, StoredRef>();
  for (const [i, d] of header.objects("deltas").entries()) {
    const from = d.string("from", HASH);
    if (deltas.has(from)) throw treeError(document, `deltas[${i}] (source ${from} repeated)`);
    deltas.set(from, readStoredRef(d.object("index")));
  }
  const parted = (json as { requires: unknown[] }).requires.includes(PARTS_FEATURE);
  return { root, parted, files: totals.integer("files"), bytes: totals.integer("bytes"), deltas };
}

/**
 * The manifest a tree header and some of its files make: the header's release fields with the walker's
 * packs and the files sorted, validated by parseManifest.
 */
export function manifestOf(
  json: unknown,
  document: string,
  packs: TreeWalker["packs"],
  files: RawFile[],
): Manifest {
  files.sort((a, b) => comparePaths(a["path"] as string, b["path"] as string));
  const treeOnly = new Set(["requires", "tree", "deltas", "totals", "bundles"]);
  const release = Object.entries(json as Record<string, unknown>).filter(([field]) => !treeOnly.has(field));
  // The features of the release itself (symlinks) stay announced; the layout's own do not apply inline.
  const requires = ((json as { requires: unknown[] }).requires ?? []).filter(
    (feature) => feature !== TREE_FEATURE && feature !== PARTS_FEATURE,
  );
  return parseManifest({ ...Object.fromEntries(release), requires, packs, files }, document);
}

export async function materializeTree(
  json: unknown,
  document: string,
  load: LoadObject,
  options: ReadOptions = {},
): Promise<MaterializedRelease> {
  const header = readTreeHeader(json, document);
  const walker = new TreeWalker(document, load, options.maxFiles ?? MAX_RELEASE_FILES, true);
  const files: RawFile[] = [];
  await walker.subtree(header.root, "", files);
  const indexRef = options.deltasFrom === undefined ? undefined : header.deltas.get(options.deltasFrom);
  if (indexRef) {
    const byPath = new Map(files.map((f) => [f["path"] as string, f]));
    await walker.attachDeltas(indexRef, options.deltasFrom!, byPath, true);
  }
  const manifest = manifestOf(json, document, walker.packs, files);
  const bytes = manifest.files.reduce((s, f) => s + f.size, 0);
  if (manifest.files.length !== header.files || bytes !== header.bytes)
    throw treeError(document, `totals (the tree has ${manifest.files.length} files of ${bytes} bytes)`);
  return { manifest, objects: walker.objects };
}
