/** Tree layout of release manifests (docs/FORMAT.md §5.2): build, read back, hostile objects. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { FerryErrorCode } from "../../src/core/errors.js";
import { FerryError } from "../../src/core/errors.js";
import type { DeltaRef, Manifest } from "../../src/core/manifest.js";
import { DEFAULT_CHUNKING } from "../../src/core/chunker.js";
import { H, hex, manifestOf, memoryStore, normalized } from "../helpers/tree-fixtures.js";
import { materializeTree, readRelease } from "../../src/core/tree-read.js";
import { buildTree, storeJson } from "../../src/core/tree.js";
import { nodePorts } from "../../src/node/node-ports.js";

async function rejectsWith(promise: Promise<unknown>, code: FerryErrorCode, label: string) {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof FerryError, `${label}: expected a FerryError, got ${String(e)}`);
    assert.equal(e.code, code, `${label}: ${e.message}`);
    return true;
  });
}

const SEGMENTS = ["a", "b", "lang", "x.txt", "a.b", "Z", "é"];
const filesArb = fc
  .uniqueArray(
    fc.record({
      path: fc.array(fc.constantFrom(...SEGMENTS), { minLength: 1, maxLength: 4 }).map((s) => s.join("/")),
      content: fc.nat({ max: 50 }),
      chunks: fc.nat({ max: 3 }),
      executable: fc.boolean(),
    }),
    {
      selector: (f) => f.path,
      maxLength: 25,
    },
    // A path may not also be a directory of another path.
  )
  .filter((files) => files.every((f) => !files.some((g) => g.path.startsWith(`${f.path}/`))));

describe("tree layout", () => {
  it("reads back exactly the manifest it was built from (property)", async () => {
    await fc.assert(
      fc.asyncProperty(filesArb, async (files) => {
        const manifest = manifestOf(files.map((f) => (f.chunks === 0 ? { ...f, content: 0 } : f)));
        const { header, objects } = buildTree(manifest, nodePorts);
        const store = memoryStore(objects);
        const read = await materializeTree(header, "test", store.load);
        assert.deepEqual(normalized(read.manifest), normalized(manifest));
        assert.equal(new Set(store.loads).size, store.loads.length, "each object is loaded once");
        assert.deepEqual(new Set(read.objects.map((o) => o.hash)), new Set(store.byHash.keys()));
      }),
      { numRuns: 150 },
    );
  });

  it("changing one deep file changes only the objects on its path", () => {
    const files = [
      { path: "a/b/c/one.txt", content: 1, chunks: 1 },
      { path: "a/b/c/two.bin", content: 2, chunks: 3 },
      { path: "a/other/x.txt", content: 3, chunks: 1 },
      { path: "z/y.txt", content: 4, chunks: 2 },
    ];
    const before = buildTree(manifestOf(files), nodePorts);
    const after = buildTree(
      manifestOf(files.map((f) => (f.path === "a/b/c/one.txt" ? { ...f, content: 9 } : f))),
      nodePorts,
    );
    const old = new Set(before.objects.map((o) => o.ref.hash));
    const fresh = after.objects.filter((o) => !old.has(o.ref.hash));
    // root, a, a/b, a/b/c: the one-chunk file is inline, so no recipe changes.
    assert.equal(fresh.length, 4);
    assert.equal(after.objects.length, before.objects.length);
  });

  it("attaches only the delta index of the release the reader has", async () => {
    const manifest = manifestOf([
      { path: "t/a.txt", content: 1, chunks: 1 },
      { path: "t/b.txt", content: 2, chunks: 2 },
    ]);
    const delta = (from: string, hash: string): DeltaRef => ({
      from,
      fromSize: 50,
      hash,
      size: 20,
      pack: 1,
      offset: 0,
      length: 20,
    });
    const withDeltas: Manifest = {
      ...manifest,
      files: manifest.files.map((f) =>
        f.path === "t/a.txt" ? { ...f, deltas: [delta(H("7"), H("8")), delta(H("5"), H("6"))] } : f,
      ),
    };
    const sources = [
      { hash: H("e"), files: new Map([["t/a.txt", { sha256: H("7") }]]) },
      {
        hash: H("f"),
        files: new Map([
          ["t/a.txt", { sha256: H("5") }],
          ["t/b.txt", { sha256: hex(2) }],
        ]),
      },
    ];
    const { header, objects } = buildTree(withDeltas, nodePorts, sources);
    const store = memoryStore(objects);
    const none = await readRelease(header, "test", store.load);
    assert.equal(none.manifest.files[0]!.deltas, undefined);
    const fromE = await readRelease(header, "test", store.load, { deltasFrom: H("e") });
    assert.deepEqual(
      fromE.manifest.files[0]!.deltas?.map((d) => d.hash),
      [H("8")],
    );
    const fromF = await readRelease(header, "test", store.load, { deltasFrom: H("f") });
    assert.deepEqual(
      fromF.manifest.files[0]!.deltas?.map((d) => d.hash),
      [H("6")],
    );
    assert.equal(fromF.manifest.files[1]!.deltas, undefined);
    const unknown = await readRelease(header, "test", store.load, { deltasFrom: H("d") });
    assert.equal(unknown.manifest.files[0]!.deltas, undefined);
  });
});

/** A hand-written tree: one root directory object with the given entries. */
function handTree(
  entries: unknown[],
  extraHeader: Record<string, unknown> = {},
  packs: unknown = [[H("a"), 1000]],
) {
  const dir = storeJson({ format: 1, type: "ferry-tree", packs, entries }, nodePorts);
  const files = entries.filter((e) => !(e as { tree?: unknown }).tree) as { size: number }[];
  const header = {
    format: 1,
    type: "ferry-release",
    requires: ["tree"],
    version: "1.0.0",
    created: "2026-11-22T00:00:00Z",
    previous: null,
    chunking: DEFAULT_CHUNKING,
    packages: { base: { optional: false } },
    tree: dir.ref,
    deltas: [],
    totals: { files: files.length, bytes: files.reduce((s, f) => s + f.size, 0) },
    ...extraHeader,
  };
  return { header, store: memoryStore([dir]), dir };
}

const file = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  size: 10,
  sha256: H("1"),
  executable: false,
  package: "base",
  chunk: [0, 0, 10, "raw"],
  ...extra,
});

describe("tree layout: hostile objects", () => {
  it("accepts the hand-written baseline", async () => {
    const { header, store } = handTree([file("a.txt")]);
    const read = await materializeTree(header, "test", store.load);
    assert.deepEqual(
      read.manifest.files.map((f) => f.path),
      ["a.txt"],
    );
  });

  const cases: [string, unknown[], FerryErrorCode][] = [
    ["a name with a slash", [file("a/b")], "E_FORMAT"],
    ["a dot-dot name", [file("..")], "E_UNSAFE_PATH"],
    ["an empty name", [file("")], "E_UNSAFE_PATH"],
    ["unsorted names", [file("b"), file("a")], "E_FORMAT"],
    ["a repeated name", [file("a"), file("a")], "E_FORMAT"],
    ["case-folding collision", [file("A"), file("a")], "E_UNSAFE_PATH"],
    ["a pack index out of range", [file("a", { chunk: [3, 0, 10, "raw"] })], "E_FORMAT"],
    ["a chunk past its pack's end", [file("a", { chunk: [0, 995, 10, "raw"] })], "E_FORMAT"],
    [
      "chunk and recipe",
      [file("a", { recipe: { hash: H("2"), size: 5, codec: "br", rawSize: 5 } })],
      "E_FORMAT",
    ],
    ["an unknown codec", [file("a", { chunk: [0, 0, 10, "zz"] })], "E_FORMAT"],
    ["a bad sha256", [file("a", { sha256: "xyz" })], "E_FORMAT"],
  ];
  for (const [label, entries, code] of cases) {
    it(`refuses ${label}`, async () => {
      const { header, store } = handTree(entries);
      await rejectsWith(materializeTree(header, "test", store.load), code, label);
    });
  }

  it("refuses wrong totals", async () => {
    const { header, store } = handTree([file("a")], { totals: { files: 2, bytes: 10 } });
    await rejectsWith(materializeTree(header, "test", store.load), "E_FORMAT", "totals");
  });

  it("refuses a pack named with two sizes", async () => {
    const sub = storeJson(
      { format: 1, type: "ferry-tree", packs: [[H("a"), 2000]], entries: [file("b")] },
      nodePorts,
    );
    const { header, store } = handTree([file("a"), { name: "d", tree: sub.ref }]);
    store.byHash.set(sub.ref.hash, sub.bytes);
    await rejectsWith(materializeTree(header, "test", store.load), "E_FORMAT", "pack sizes");
  });

  it("refuses a tree that multiplies files through shared subtrees, before building them", async () => {
    // Each level names the level below twice: 2^12 files from 13 small objects.
    let level = storeJson(
      { format: 1, type: "ferry-tree", packs: [[H("a"), 1000]], entries: [file("f")] },
      nodePorts,
    );
    const objects = [level];
    for (let i = 0; i < 12; i++) {
      level = storeJson(
        {
          format: 1,
          type: "ferry-tree",
          packs: [],
          entries: [
            { name: "l", tree: level.ref },
            { name: "r", tree: level.ref },
          ],
        },
        nodePorts,
      );
      objects.push(level);
    }
    const store = memoryStore(objects);
    const header = { ...handTree([]).header, tree: level.ref, totals: { files: 4096, bytes: 40960 } };
    await rejectsWith(
      materializeTree(header, "test", store.load, { maxFiles: 1000 }),
      "E_TOO_LARGE",
      "blowup",
    );
    const read = await materializeTree(header, "test", store.load, { maxFiles: 5000 });
    assert.equal(read.manifest.files.length, 4096);
  });

  it("refuses a delta index naming a file the tree lacks", async () => {
    const index = storeJson(
      {
        format: 1,
        type: "ferry-deltas",
        packs: [[H("a"), 1000]],
        entries: [
          { path: "ghost", from: H("2"), fromSize: 5, hash: H("3"), size: 5, pack: 0, offset: 0, length: 5 },
        ],
      },
      nodePorts,
    );
    const { header, store } = handTree([file("a")], { deltas: [{ from: H("e"), index: index.ref }] });
    store.byHash.set(index.ref.hash, index.bytes);
    await materializeTree(header, "test", store.load); // not read without deltasFrom
    await rejectsWith(
      materializeTree(header, "test", store.load, { deltasFrom: H("e") }),
      "E_FORMAT",
      "ghost delta",
    );
  });

  it("refuses an unknown required feature and a wrong object type", async () => {
    const { header, store } = handTree([file("a")], { requires: ["tree", "quantum"] });
    await rejectsWith(materializeTree(header, "test", store.load), "E_UNSUPPORTED_FORMAT", "feature");
    const recipeAsTree = storeJson({ format: 1, type: "ferry-recipe", packs: [], chunks: [] }, nodePorts);
    const bad = handTree([]);
    bad.store.byHash.set(recipeAsTree.ref.hash, recipeAsTree.bytes);
    await rejectsWith(
      materializeTree({ ...bad.header, tree: recipeAsTree.ref }, "test", bad.store.load),
      "E_FORMAT",
      "type",
    );
  });
});
