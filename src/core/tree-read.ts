import { FerryError } from "./errors.js";
import { checkFormatHeader, JsonReader, parseJson } from "./json-reader.js";
import { type Manifest, parseManifest } from "./manifest.js";
import { assertSafePath, comparePaths } from "./paths.js";
import { MAX_RELEASE_FILES, type StoredRef, TREE_FEATURE, treeError } from "./tree.js";

/**
 * Reading the tree layout (docs/FORMAT.md §5.2). `load` returns the decoded bytes of a stored object
 * after checking them against the ref's hash and sizes; it decides where they come from (the client's
 * kept objects first, then the repository). Everything it returns is validated here, and the result is
 * validated again as a whole by parseManifest, exactly like an inline manifest.
 */
export type LoadObject = (ref: StoredRef, what: string) => Promise<Uint8Array>;

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

export function readStoredRef(r: JsonReader): StoredRef {
  return {
    hash: r.string("hash", HASH),
    size: r.integer("size", 1),
    codec: r.string("codec", /^br$/) as "br",
    rawSize: r.integer("rawSize", 1),
  };
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

interface PackTable {
  readonly ids: readonly string[];
  readonly sizes: readonly number[];
}

export async function materializeTree(
  json: unknown,
  document: string,
  load: LoadObject,
  options: ReadOptions = {},
): Promise<MaterializedRelease> {
  const maxFiles = options.maxFiles ?? MAX_RELEASE_FILES;
  const header = new JsonReader(document, json);
  checkFormatHeader(header, "ferry-release", [TREE_FEATURE]);
  const rootRef = readStoredRef(header.object("tree"));
  const totals = header.object("totals");
  const claimedFiles = totals.integer("files");
  const claimedBytes = totals.integer("bytes");
  const deltaIndexes = new Map<string, StoredRef>();
  for (const [i, d] of header.objects("deltas").entries()) {
    const from = d.string("from", HASH);
    if (deltaIndexes.has(from)) throw treeError(document, `deltas[${i}] (source ${from} repeated)`);
    deltaIndexes.set(from, readStoredRef(d.object("index")));
  }

  const packIndex = new Map<string, number>();
  const packs: { id: string; size: number }[] = [];
  const globalPack = (table: PackTable, local: unknown, what: string): number => {
    if (typeof local !== "number" || !Number.isSafeInteger(local) || local < 0 || local >= table.ids.length)
      throw treeError(what, "pack index");
    const id = table.ids[local]!;
    const size = table.sizes[local]!;
    let index = packIndex.get(id);
    if (index === undefined) {
      index = packs.length;
      packs.push({ id, size });
      packIndex.set(id, index);
    } else if (packs[index]!.size !== size) throw treeError(what, `size of pack ${id}`);
    return index;
  };

  const loaded = new Map<string, Promise<unknown>>();
  const objects: StoredRef[] = [];
  const fetchJson = (ref: StoredRef, what: string): Promise<unknown> => {
    let pending = loaded.get(ref.hash);
    if (!pending) {
      objects.push(ref);
      pending = load(ref, what).then((bytes) => parseJson(what, bytes));
      loaded.set(ref.hash, pending);
    }
    return pending;
  };

  const files: Record<string, unknown>[] = [];
  const walk = async (ref: StoredRef, prefix: string): Promise<void> => {
    const what = `directory object ${ref.hash} (${prefix === "" ? "/" : prefix}) of ${document}`;
    const r = new JsonReader(what, await fetchJson(ref, what));
    checkFormatHeader(r, "ferry-tree");
    const table = readPackTable(r, what);
    const children: Promise<void>[] = [];
    try {
      let previous: string | undefined;
      for (const entry of r.objects("entries")) {
        const name = entry.string("name");
        if (name.includes("/")) throw treeError(what, `entry name ${JSON.stringify(name)}`);
        assertSafePath(name, what);
        if (previous !== undefined && comparePaths(previous, name) >= 0)
          throw treeError(what, "entry order (must be sorted, unique)");
        previous = name;
        const path = prefix + name;
        if (entry.has("tree")) {
          children.push(walk(readStoredRef(entry.object("tree")), `${path}/`));
          continue;
        }
        if (files.length >= maxFiles) {
          throw new FerryError(
            "E_TOO_LARGE",
            `${document} describes more than ${maxFiles} files; Ferry refuses it. The repository is hostile or corrupt.`,
            { document, limit: maxFiles },
          );
        }
        const file: Record<string, unknown> = {
          path,
          size: entry.integer("size"),
          sha256: entry.string("sha256", HASH),
          executable: entry.boolean("executable"),
          package: entry.string("package"),
          chunks: [],
        };
        files.push(file);
        if (entry.has("chunk") && entry.has("recipe")) throw treeError(what, `chunk and recipe of ${path}`);
        if (entry.has("chunk")) {
          const tuple = entry.array("chunk");
          if (tuple.length !== 4) throw treeError(what, `chunk of ${path}`);
          const [pack, offset, length, codec] = tuple;
          file["chunks"] = [
            [file["sha256"], file["size"], globalPack(table, pack, what), offset, length, codec],
          ];
        } else if (entry.has("recipe")) {
          const recipeRef = readStoredRef(entry.object("recipe"));
          children.push(readRecipe(recipeRef, path, file));
        }
      }
    } catch (error) {
      // Walks already started must settle before the error propagates: none may reject unobserved.
      await Promise.allSettled(children);
      throw error;
    }
    await Promise.all(children);
  };

  const readRecipe = async (ref: StoredRef, path: string, file: Record<string, unknown>): Promise<void> => {
    const what = `recipe object ${ref.hash} (${path}) of ${document}`;
    const r = new JsonReader(what, await fetchJson(ref, what));
    checkFormatHeader(r, "ferry-recipe");
    const table = readPackTable(r, what);
    file["chunks"] = r.array("chunks").map((tuple, i) => {
      if (!Array.isArray(tuple) || tuple.length !== 6) throw treeError(what, `chunk ${i}`);
      const [hash, size, pack, offset, length, codec] = tuple as unknown[];
      return [hash, size, globalPack(table, pack, what), offset, length, codec];
    });
  };

  await walk(rootRef, "");
  const indexRef = options.deltasFrom === undefined ? undefined : deltaIndexes.get(options.deltasFrom);
  if (indexRef) {
    const what = `delta index ${indexRef.hash} (from release ${options.deltasFrom}) of ${document}`;
    const r = new JsonReader(what, await fetchJson(indexRef, what));
    checkFormatHeader(r, "ferry-deltas");
    const table = readPackTable(r, what);
    const byPath = new Map(files.map((f) => [f["path"] as string, f]));
    for (const [i, d] of r.objects("entries").entries()) {
      const file = byPath.get(d.string("path"));
      if (!file || file["deltas"]) throw treeError(what, `entries[${i}].path (unknown or repeated)`);
      file["deltas"] = [
        {
          from: d.string("from", HASH),
          fromSize: d.integer("fromSize"),
          hash: d.string("hash", HASH),
          size: d.integer("size", 1),
          pack: globalPack(table, d.integer("pack"), what),
          offset: d.integer("offset"),
          length: d.integer("length", 1),
        },
      ];
    }
  }
  files.sort((a, b) => comparePaths(a["path"] as string, b["path"] as string));
  // The inline form of the same release: the header's release fields, with the walked packs and files.
  const treeOnly = new Set(["requires", "tree", "deltas", "totals"]);
  const release = Object.entries(json as Record<string, unknown>).filter(([field]) => !treeOnly.has(field));
  const flat = { ...Object.fromEntries(release), packs, files };
  const manifest = parseManifest(flat, document);
  const bytes = manifest.files.reduce((s, f) => s + f.size, 0);
  if (manifest.files.length !== claimedFiles || bytes !== claimedBytes)
    throw treeError(document, `totals (the tree has ${manifest.files.length} files of ${bytes} bytes)`);
  return { manifest, objects };
}

function readPackTable(r: JsonReader, what: string): PackTable {
  const ids: string[] = [];
  const sizes: number[] = [];
  for (const [i, pair] of r.array("packs").entries()) {
    if (!Array.isArray(pair) || pair.length !== 2) throw treeError(what, `pack ${i}`);
    const [id, size] = pair as unknown[];
    if (
      typeof id !== "string" ||
      !HASH.test(id) ||
      typeof size !== "number" ||
      !Number.isSafeInteger(size) ||
      size < 0
    )
      throw treeError(what, `pack ${i}`);
    ids.push(id);
    sizes.push(size);
  }
  return { ids, sizes };
}
