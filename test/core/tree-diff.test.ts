/** Diffing two tree releases without walking what they share (src/core/tree-diff.ts). */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { FileEntry, Manifest } from "../../src/core/manifest.js";
import { diffTrees, treeObjects } from "../../src/core/tree-diff.js";
import { materializeTree } from "../../src/core/tree-read.js";
import { buildTree, type StoredObject, storeJson } from "../../src/core/tree.js";
import { manifestOf, memoryStore, normalized } from "../helpers/tree-fixtures.js";
import { nodePorts } from "../../src/node/node-ports.js";

const SEGMENTS = ["a", "b", "lang", "x.txt", "Z", "é"];
type Spec = { path: string; content: number; chunks: number; executable: boolean };
const specArb = fc.record({
  path: fc.array(fc.constantFrom(...SEGMENTS), { minLength: 1, maxLength: 4 }).map((s) => s.join("/")),
  content: fc.nat({ max: 6 }),
  chunks: fc.integer({ min: 1, max: 3 }),
  executable: fc.boolean(),
});
/** Unique paths, none also a directory of another. */
const filesArb = fc
  .uniqueArray(specArb, { selector: (f) => f.path, maxLength: 20 })
  .filter((files) => files.every((f) => !files.some((g) => g.path.startsWith(`${f.path}/`))));

function release(
  files: readonly Spec[],
  version: string,
): { manifest: Manifest; header: unknown; objects: StoredObject[] } {
  const manifest = { ...manifestOf(files), version };
  return { manifest, ...buildTree(manifest, nodePorts) };
}

const key = (f: FileEntry) => JSON.stringify([f.sha256, f.size, f.executable, f.package]);

/** The files of `a` whose path is absent from `b` or holds another file there. */
function differing(a: Manifest, b: Manifest): string[] {
  const other = new Map(b.files.map((f) => [f.path, key(f)]));
  return a.files.filter((f) => other.get(f.path) !== key(f)).map((f) => f.path);
}

describe("tree diff", () => {
  it("lists exactly the files that differ, complete, on both sides (property)", async () => {
    await fc.assert(
      fc.asyncProperty(filesArb, filesArb, async (oldSpecs, newSpecs) => {
        const a = release(oldSpecs, "1.0.0");
        const b = release(newSpecs, "2.0.0");
        const store = memoryStore([...a.objects, ...b.objects]);
        const diff = await diffTrees(
          { json: a.header, document: "old" },
          { json: b.header, document: "new" },
          store.load,
          { maxFiles: 1000 },
        );
        assert.deepEqual(
          diff.target.files.map((f) => f.path),
          differing(b.manifest, a.manifest),
        );
        assert.deepEqual(
          diff.installed.files.map((f) => f.path),
          differing(a.manifest, b.manifest),
        );
        // Each listed file is exactly the release's entry (chunks included, packs renumbered).
        const pick = (m: Manifest, paths: Set<string>) => ({
          ...m,
          files: m.files.filter((f) => paths.has(f.path)),
        });
        const full = normalized(pick(b.manifest, new Set(diff.target.files.map((f) => f.path)))) as Manifest;
        assert.deepEqual((normalized(diff.target) as Manifest).files, full.files);
        const oldFull = normalized(
          pick(a.manifest, new Set(diff.installed.files.map((f) => f.path))),
        ) as Manifest;
        assert.deepEqual((normalized(diff.installed) as Manifest).files, oldFull.files);
      }),
      { numRuns: 300 },
    );
  });

  it("reads only the directories on the path to a change, and the changed file's recipe", async () => {
    const specs: Spec[] = [];
    for (let d = 0; d < 10; d++)
      for (let f = 0; f < 10; f++)
        specs.push({ path: `d${d}/e/f${f}.txt`, content: d * 10 + f, chunks: 2, executable: false });
    const a = release(specs, "1.0.0");
    const changed = specs.map((s) => (s.path === "d3/e/f4.txt" ? { ...s, content: 999 } : s));
    const b = release(changed, "2.0.0");
    const store = memoryStore([...a.objects, ...b.objects]);
    const diff = await diffTrees(
      { json: a.header, document: "old" },
      { json: b.header, document: "new" },
      store.load,
      { maxFiles: 1000 },
    );
    assert.deepEqual(
      diff.target.files.map((f) => f.path),
      ["d3/e/f4.txt"],
    );
    assert.deepEqual(
      diff.installed.files.map((f) => f.path),
      ["d3/e/f4.txt"],
    );
    // Old and new: root, d3, d3/e (3 each), plus the two recipes of the changed file; not the 100 files.
    assert.equal(store.loads.length, 8);
    assert.equal(diff.objects.length, 4);
  });

  it("an identical release reads nothing", async () => {
    const a = release([{ path: "x/y", content: 1, chunks: 1, executable: false }], "1.0.0");
    const store = memoryStore(a.objects);
    const diff = await diffTrees(
      { json: a.header, document: "old" },
      { json: a.header, document: "same" },
      store.load,
      { maxFiles: 10 },
    );
    assert.equal(store.loads.length, 0);
    assert.equal(diff.target.files.length + diff.installed.files.length, 0);
  });

  it("treeObjects names the same objects a full read loads (property)", async () => {
    await fc.assert(
      fc.asyncProperty(filesArb, async (specs) => {
        const a = release(specs, "1.0.0");
        const store = memoryStore(a.objects);
        const listed = await treeObjects(a.header, "r", store.load, 1000);
        const read = await materializeTree(a.header, "r", memoryStore(a.objects).load);
        assert.deepEqual(listed, new Set(read.objects.map((o) => o.hash)));
        // Recipes are named, not read.
        assert.ok(store.loads.length <= listed.size);
      }),
      { numRuns: 150 },
    );
  });
});

describe("parted recipes", () => {
  /** One file of `n` chunks; chunk i has content id ids[i]. */
  function bigFile(ids: readonly number[], version: string) {
    const packs = [{ id: "a".repeat(64), size: 1e12 }];
    const chunks = ids.map((id) => ({
      hash: createHash("sha256").update(`chunk ${id}`).digest("hex"),
      size: 65536,
      pack: 0,
      offset: id * 65536, // where the chunk is stored: unchanged chunks keep their place
      length: 65536,
      codec: "raw" as const,
    }));
    const manifest: Manifest = {
      ...manifestOf([]),
      version,
      packs,
      files: [
        {
          path: "data/big.pak",
          size: ids.length * 65536,
          sha256: sha(ids.join()),
          executable: false,
          package: "base",
          chunks,
        },
      ],
    };
    return { manifest, ...buildTree(manifest, nodePorts) };
  }
  const sha = (s: string) => createHash("sha256").update(s).digest("hex");
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);

  it("a file of many chunks round-trips through parts; its header requires the feature", async () => {
    const a = bigFile(range(40_000), "1.0.0");
    assert.deepEqual((a.header as { requires: string[] }).requires, ["tree", "recipe-parts"]);
    const store = memoryStore(a.objects);
    const read = await materializeTree(a.header, "big", store.load);
    assert.deepEqual(normalized(read.manifest), normalized(a.manifest));
    assert.ok(a.objects.length > 300, `${a.objects.length} objects`);
    assert.deepEqual(
      await treeObjects(a.header, "big", memoryStore(a.objects).load, 10),
      new Set(read.objects.map((o) => o.hash)),
    );
  });

  it("an edit and an insertion re-read only the parts around them", async () => {
    const ids = range(40_000);
    const a = bigFile(ids, "1.0.0");
    const edited = [...ids];
    edited[12_345] = 1_000_000; // one chunk replaced
    edited.splice(30_000, 0, 2_000_000); // one chunk inserted: later chunks shift by one
    const b = bigFile(edited, "2.0.0");
    const fresh = b.objects.filter((o) => !a.objects.some((x) => x.ref.hash === o.ref.hash));
    // Two leaves, their index parts, the root recipe and the directories (root, data/).
    assert.ok(fresh.length <= 10, `${fresh.length} new objects of ${b.objects.length}`);
    const bytes = fresh.reduce((n, o) => n + o.bytes.length, 0);
    const total = b.objects.reduce((n, o) => n + o.bytes.length, 0);
    assert.ok(bytes * 10 < total, `new objects are ${bytes} of ${total} bytes`);
    const diff = await diffTrees(
      { json: a.header, document: "a" },
      { json: b.header, document: "b" },
      memoryStore([...a.objects, ...b.objects]).load,
      { maxFiles: 10 },
    );
    assert.deepEqual((normalized(diff.target) as Manifest).files, (normalized(b.manifest) as Manifest).files);
  });

  it("refuses a recipe whose parts multiply beyond the chunk limit", async () => {
    const leaf = storeJson(
      {
        format: 1,
        type: "ferry-recipe",
        packs: [["a".repeat(64), 1e12]],
        chunks: Array.from({ length: 512 }, (_, i) => [sha(`c${i}`), 1, 0, i, 1, "raw"]),
      },
      nodePorts,
    );
    let level = leaf;
    const objects = [leaf];
    for (let d = 0; d < 4; d++) {
      level = storeJson(
        {
          format: 1,
          type: "ferry-recipe",
          parts: Array.from({ length: 256 }, () => level.ref),
        },
        nodePorts,
      );
      objects.push(level);
    }
    const dir = storeJson(
      {
        format: 1,
        type: "ferry-tree",
        packs: [],
        entries: [
          { name: "f", size: 1, sha256: sha("x"), executable: false, package: "base", recipe: level.ref },
        ],
      },
      nodePorts,
    );
    const header = {
      ...(bigFile([1], "1.0.0").header as object),
      requires: ["tree", "recipe-parts"],
      tree: dir.ref,
      totals: { files: 1, bytes: 1 },
    };
    await assert.rejects(
      materializeTree(header, "hostile", memoryStore([...objects, dir]).load),
      (e: unknown) =>
        (e as { code?: string }).code === "E_TOO_LARGE" || (e as { code?: string }).code === "E_FORMAT",
    );
  });
});
