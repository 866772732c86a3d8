import { FerryError } from "./errors.js";
import { checkFormatHeader, JsonReader, parseJson } from "./json-reader.js";
import { MetadataBudget } from "./metadata-limits.js";
import { assertSafePath, comparePaths } from "./paths.js";
import { type StoredRef, treeError } from "./tree.js";

/**
 * Reading the objects of one tree release (docs/FORMAT.md §5.2), one directory at a time, so a caller can
 * walk all of it (tree-read.ts) or only the subtrees that differ from another release (tree-diff.ts).
 * `load` returns the decoded bytes of a stored object after checking them against the ref's hash.
 * Parsed objects are not cached: memory stays bounded by the directory being read, not the release.
 */
export type LoadObject = (ref: StoredRef, what: string) => Promise<Uint8Array>;

/** A file as the inline manifest writes it (validated later by parseManifest). */
export type RawFile = Record<string, unknown>;

export type DirectoryEntry =
  | { readonly kind: "tree"; readonly name: string; readonly path: string; readonly tree: StoredRef }
  | {
      readonly kind: "file";
      readonly name: string;
      readonly path: string;
      readonly file: RawFile;
      /** The file's chunk list is in this recipe object (read by `completeFile`). */
      readonly recipe: StoredRef | undefined;
    };

interface PackTable {
  readonly ids: readonly string[];
  readonly sizes: readonly number[];
}

const HASH = /^[0-9a-f]{64}$/;
/** Levels of a parted recipe (a publisher makes 2-3 for a file of millions of chunks). */
const MAX_RECIPE_DEPTH = 4;
/** Chunks of one file: 1 Mi chunks is 64 GiB at the default 64 KiB average (docs/FORMAT.md §5.2). */
const MAX_FILE_CHUNKS = 1024 * 1024;
const PART_CONCURRENCY = 4;

export function readStoredRef(r: JsonReader): StoredRef {
  return {
    hash: r.string("hash", HASH),
    size: r.integer("size", 1),
    codec: r.string("codec", /^br$/) as "br",
    rawSize: r.integer("rawSize", 1),
  };
}

export class TreeWalker {
  /** Packs the read entries point into, numbered in order of first use (the manifest's `packs`). */
  readonly packs: { id: string; size: number }[] = [];
  /** Every object read (directories, recipes, delta index), each once. */
  readonly objects: StoredRef[] = [];
  private readonly packIndex = new Map<string, number>();
  /** Parsed objects by hash, when caching (each object is then loaded once even if shared). */
  private readonly parsed = new Map<string, Promise<unknown>>();
  private readonly seen = new Set<string>();
  private fileCount = 0;

  constructor(
    private readonly document: string,
    private readonly load: LoadObject,
    private readonly maxFiles: number,
    /**
     * Keep parsed objects so a subtree or recipe shared by several paths is loaded once. A full walk
     * caches (it holds every file anyway); a diff walk does not, so it holds only what it reads.
     */
    private readonly cache: boolean,
    /** What this walk may cost (metadata-limits.ts); shared by the walkers of one operation if given. */
    private readonly budget: MetadataBudget = new MetadataBudget(document, 0, 0),
  ) {}

  /** The entries of one directory object, validated (names safe, sorted, unique), files counted. */
  async directory(ref: StoredRef, prefix: string): Promise<DirectoryEntry[]> {
    const what = `directory object ${ref.hash} (${prefix === "" ? "/" : prefix}) of ${this.document}`;
    const r = new JsonReader(what, await this.fetchJson(ref, what));
    checkFormatHeader(r, "ferry-tree");
    this.budget.spend(r.array("entries").length, what);
    const table = readPackTable(r, what);
    const entries: DirectoryEntry[] = [];
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
        entries.push({ kind: "tree", name, path, tree: readStoredRef(entry.object("tree")) });
        continue;
      }
      if (++this.fileCount > this.maxFiles) throw this.tooLarge();
      const file: RawFile = {
        path,
        size: entry.integer("size"),
        sha256: entry.string("sha256", HASH),
        executable: entry.boolean("executable"),
        package: entry.string("package"),
        chunks: [],
      };
      // Validated with the rest of the entry by parseManifest (a link has no chunk and no recipe).
      if (entry.has("link")) file["link"] = entry.string("link");
      if (entry.has("chunk") && entry.has("recipe")) throw treeError(what, `chunk and recipe of ${path}`);
      let recipe: StoredRef | undefined;
      if (entry.has("chunk")) {
        const tuple = entry.array("chunk");
        // 6 elements: a chunk in a solid block (validated, with "solid" required, by parseManifest).
        if (tuple.length !== 4 && tuple.length !== 6) throw treeError(what, `chunk of ${path}`);
        const [pack, offset, length, codec, ...solid] = tuple;
        file["chunks"] = [
          [file["sha256"], file["size"], this.globalPack(table, pack, what), offset, length, codec, ...solid],
        ];
      } else if (entry.has("recipe")) {
        recipe = readStoredRef(entry.object("recipe"));
      }
      entries.push({ kind: "file", name, path, file, recipe });
    }
    // Empty directories are not represented (§5.2): so every directory walked leads to a file, and shared
    // subtrees cannot multiply work without multiplying files, which maxFiles bounds.
    if (prefix !== "" && entries.length === 0) throw treeError(what, "entries (an empty directory)");
    return entries;
  }

  /** Fills in the chunk list of a file whose entry names a recipe. */
  async completeFile(entry: Extract<DirectoryEntry, { kind: "file" }>): Promise<RawFile> {
    if (!entry.recipe) return entry.file;
    const chunks: unknown[][] = [];
    await this.readRecipe(entry.recipe, entry.path, 0, chunks, { chunks: 0 });
    entry.file["chunks"] = chunks;
    return entry.file;
  }

  /** A recipe's chunk tuples appended to `into`, in order; a parted recipe reads its parts (§5.2). */
  private async readRecipe(
    ref: StoredRef,
    path: string,
    depth: number,
    into: unknown[][],
    budget: { chunks: number },
  ): Promise<void> {
    const what = `recipe object ${ref.hash} (${path}) of ${this.document}`;
    const r = new JsonReader(what, await this.fetchJson(ref, what));
    checkFormatHeader(r, "ferry-recipe");
    if (r.has("parts")) {
      if (depth >= MAX_RECIPE_DEPTH || r.has("chunks")) throw treeError(what, "parts");
      this.budget.spend(r.array("parts").length, what);
      const parts = r.objects("parts").map(readStoredRef);
      if (parts.length === 0) throw treeError(what, "parts (none)");
      // Read a few at once, appended in order.
      for (let i = 0; i < parts.length; i += PART_CONCURRENCY) {
        const batch = parts.slice(i, i + PART_CONCURRENCY);
        const read = await Promise.all(
          batch.map(async (part) => {
            const out: unknown[][] = [];
            await this.readRecipe(part, path, depth + 1, out, budget);
            return out;
          }),
        );
        for (const part of read) for (const tuple of part) into.push(tuple);
      }
      return;
    }
    const table = readPackTable(r, what);
    const tuples = r.array("chunks");
    // Counted before anything is built: shared parts cannot make a small recipe describe a huge file.
    budget.chunks += tuples.length;
    if (budget.chunks > MAX_FILE_CHUNKS) throw this.tooLarge();
    this.budget.spend(tuples.length, what);
    for (const [i, tuple] of tuples.entries()) {
      if (!Array.isArray(tuple) || (tuple.length !== 6 && tuple.length !== 8))
        throw treeError(what, `chunk ${i}`);
      const [hash, size, pack, offset, length, codec, ...solid] = tuple as unknown[];
      into.push([hash, size, this.globalPack(table, pack, what), offset, length, codec, ...solid]);
    }
  }

  /** The objects a recipe consists of: itself and, for a parted recipe, its parts (read to find them). */
  async recipeObjects(ref: StoredRef, path: string, into: Set<string>, depth = 0): Promise<void> {
    into.add(ref.hash);
    const what = `recipe object ${ref.hash} (${path}) of ${this.document}`;
    const r = new JsonReader(what, await this.fetchJson(ref, what));
    checkFormatHeader(r, "ferry-recipe");
    if (!r.has("parts")) return;
    if (depth >= MAX_RECIPE_DEPTH) throw treeError(what, "parts");
    this.budget.spend(r.array("parts").length, what);
    for (const part of r.objects("parts").map(readStoredRef)) {
      if (!into.has(part.hash)) await this.recipeObjects(part, path, into, depth + 1);
    }
  }

  /** Every file under a directory object, complete, appended to `into` (directories read in parallel). */
  async subtree(ref: StoredRef, prefix: string, into: RawFile[]): Promise<void> {
    const pending: Promise<unknown>[] = [];
    try {
      for (const entry of await this.directory(ref, prefix)) {
        if (entry.kind === "tree") pending.push(this.subtree(entry.tree, `${entry.path}/`, into));
        else {
          into.push(entry.file);
          if (entry.recipe) pending.push(this.completeFile(entry));
        }
      }
    } catch (error) {
      // Walks already started must settle before the error propagates: none may reject unobserved.
      await Promise.allSettled(pending);
      throw error;
    }
    await Promise.all(pending);
  }

  /**
   * Attaches the deltas of a delta index to `byPath`'s files. `strict`: every entry must name a file of
   * the map (a full release); otherwise entries for paths outside it are skipped (a partial release).
   */
  async attachDeltas(
    indexRef: StoredRef,
    from: string,
    byPath: ReadonlyMap<string, RawFile>,
    strict: boolean,
  ) {
    const what = `delta index ${indexRef.hash} (from release ${from}) of ${this.document}`;
    const r = new JsonReader(what, await this.fetchJson(indexRef, what));
    checkFormatHeader(r, "ferry-deltas");
    this.budget.spend(r.array("entries").length, what);
    const table = readPackTable(r, what);
    for (const [i, d] of r.objects("entries").entries()) {
      const file = byPath.get(d.string("path"));
      if (!file && !strict) continue;
      if (!file || file["deltas"]) throw treeError(what, `entries[${i}].path (unknown or repeated)`);
      file["deltas"] = [
        {
          from: d.string("from", HASH),
          fromSize: d.integer("fromSize"),
          hash: d.string("hash", HASH),
          size: d.integer("size", 1),
          pack: this.globalPack(table, d.integer("pack"), what),
          offset: d.integer("offset"),
          length: d.integer("length", 1),
        },
      ];
    }
  }

  private tooLarge(): FerryError {
    return new FerryError(
      "E_TOO_LARGE",
      `${this.document} describes more than ${this.maxFiles} files or a file of more than ${MAX_FILE_CHUNKS} chunks; Ferry refuses it. The repository is hostile or corrupt.`,
      { document: this.document, limit: this.maxFiles },
    );
  }

  private fetchJson(ref: StoredRef, what: string): Promise<unknown> {
    const cached = this.parsed.get(ref.hash);
    if (cached) return cached;
    if (!this.seen.has(ref.hash)) {
      this.seen.add(ref.hash);
      this.objects.push(ref);
    }
    let pending: Promise<unknown>;
    try {
      this.budget.object(ref.hash, ref.size, ref.rawSize, what); // before a byte is fetched or decoded
      pending = this.load(ref, what).then((bytes) => parseJson(what, bytes));
    } catch (error) {
      pending = Promise.reject(error);
    }
    if (this.cache) this.parsed.set(ref.hash, pending);
    return pending;
  }

  private globalPack(table: PackTable, local: unknown, what: string): number {
    if (typeof local !== "number" || !Number.isSafeInteger(local) || local < 0 || local >= table.ids.length)
      throw treeError(what, "pack index");
    const id = table.ids[local]!;
    const size = table.sizes[local]!;
    let index = this.packIndex.get(id);
    if (index === undefined) {
      index = this.packs.length;
      this.packs.push({ id, size });
      this.packIndex.set(id, index);
    } else if (this.packs[index]!.size !== size) throw treeError(what, `size of pack ${id}`);
    return index;
  }
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
