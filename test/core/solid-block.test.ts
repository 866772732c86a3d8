/** Solid blocks in the format (docs/FORMAT.md §4.1, §5, §5.2, §5.3): parsing, refusals, decode caps. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { brotliCompressSync } from "node:zlib";
import { FerryError, type FerryErrorCode } from "../../src/core/errors.js";
import { checkFormatHeader, JsonReader } from "../../src/core/json-reader.js";
import { SYMLINKS_FEATURE } from "../../src/core/links.js";
import { type ChunkRef, manifestToJson, parseManifest, serializeManifest } from "../../src/core/manifest.js";
import { decodeBlock, MAX_BLOCK_SIZE, SOLID_FEATURE, takeChunk } from "../../src/core/solid-block.js";
import { materializeTree } from "../../src/core/tree-read.js";
import { buildTree } from "../../src/core/tree.js";
import { nodeBrotli } from "../../src/node/node-codec.js";
import { nodePorts } from "../../src/node/node-ports.js";
import { memoryStore } from "../helpers/tree-fixtures.js";

const H = (c: string): string => c.repeat(64);
type Json = Record<string, unknown>;

function expectCode(fn: () => unknown, code: FerryErrorCode, label: string): void {
  assert.throws(
    fn,
    (e: unknown) => {
      assert.ok(e instanceof FerryError, `${label}: expected a FerryError, got ${String(e)}`);
      assert.equal(e.code, code, `${label}: ${e.message}`);
      return true;
    },
    label,
  );
}

/** A release whose two small files share one Brotli block of 3,000 decoded bytes at pack offset 100. */
function solidDoc(): Json {
  return {
    format: 1,
    type: "ferry-release",
    requires: [SOLID_FEATURE],
    version: "1.0.0",
    created: "2026-11-21T22:00:00Z",
    previous: null,
    chunking: { algorithm: "fastcdc-gear32-v1", min: 4096, avg: 16384, max: 65536 },
    packs: [{ id: H("a"), size: 100000 }],
    packages: { base: { optional: false } },
    files: [
      {
        path: "a.json",
        size: 1000,
        sha256: H("1"),
        executable: false,
        package: "base",
        chunks: [[H("1"), 1000, 0, 100, 600, "br", 3000, 0]],
      },
      {
        path: "b.json",
        size: 2000,
        sha256: H("2"),
        executable: false,
        package: "base",
        chunks: [[H("2"), 2000, 0, 100, 600, "br", 3000, 1000]],
      },
    ],
  };
}

function mutated(change: (doc: Json) => void): Json {
  const doc = solidDoc();
  change(doc);
  return doc;
}

const chunkOf = (doc: Json, file: number): unknown[] =>
  ((doc.files as Json[])[file]!.chunks as unknown[][])[0]!;

describe("solid blocks: manifest", () => {
  it("parses 8-element tuples into chunks with a block location, and serialises them back", () => {
    const m = parseManifest(solidDoc());
    assert.deepEqual(m.files[1]!.chunks[0]!.solid, { blockSize: 3000, blockOffset: 1000 });
    const json = manifestToJson(m) as Json;
    assert.deepEqual(json.requires, [SOLID_FEATURE]);
    assert.deepEqual(parseManifest(JSON.parse(new TextDecoder().decode(serializeManifest(m)))), m);
  });

  it("a release without blocks does not require the feature", () => {
    const doc = solidDoc();
    const m = parseManifest(doc);
    const plain = {
      ...m,
      files: m.files.map((f) => ({
        ...f,
        chunks: f.chunks.map(({ solid: _solid, ...c }): ChunkRef => ({ ...c, codec: "raw", length: c.size })),
      })),
    };
    assert.deepEqual((manifestToJson(plain) as Json).requires, []);
  });

  it("an older client (features before solid) refuses the release with E_UNSUPPORTED_FORMAT", () => {
    expectCode(
      () => checkFormatHeader(new JsonReader("release", solidDoc()), "ferry-release", [SYMLINKS_FEATURE]),
      "E_UNSUPPORTED_FORMAT",
      "old feature list",
    );
  });

  const refusals: [string, (doc: Json) => void][] = [
    ["8-element tuple without requires solid", (d) => (d.requires = [])],
    ["block size above the maximum", (d) => (chunkOf(d, 0)[6] = MAX_BLOCK_SIZE + 1)],
    ["block size above 1024x the stored length", (d) => (chunkOf(d, 0)[4] = 2)],
    ["chunk past the end of its block", (d) => (chunkOf(d, 1)[7] = 1001)],
    ["negative block offset", (d) => (chunkOf(d, 0)[7] = -1)],
    ["fractional block size", (d) => (chunkOf(d, 0)[6] = 3000.5)],
    ["raw block whose length is not its size", (d) => (chunkOf(d, 0)[5] = "raw")],
    ["two chunks disagree on one block's size", (d) => (chunkOf(d, 1)[6] = 4000)],
    ["two chunks disagree on one block's length", (d) => (chunkOf(d, 1)[4] = 700)],
    ["7-element tuple", (d) => chunkOf(d, 0).pop()],
  ];
  for (const [label, change] of refusals) {
    it(`refuses: ${label} (E_FORMAT)`, () => {
      expectCode(() => parseManifest(mutated(change)), "E_FORMAT", label);
    });
  }

  it("the tree layout carries block locations (directory entries and recipes) and requires solid", async () => {
    const m = parseManifest(
      mutated((d) => {
        // A two-chunk file: its chunk list goes into a recipe.
        (d.files as Json[]).push({
          path: "c/two.json",
          size: 1500,
          sha256: H("3"),
          executable: false,
          package: "base",
          chunks: [
            [H("4"), 1000, 0, 700, 500, "br", 2000, 0],
            [H("5"), 500, 0, 1200, 500, "raw"],
          ],
        });
      }),
    );
    const { header, objects } = buildTree(m, nodePorts);
    assert.ok((header as { requires: string[] }).requires.includes(SOLID_FEATURE));
    const store = memoryStore(objects);
    const read = await materializeTree(header, "test", store.load);
    assert.deepEqual(read.manifest.files, m.files);
  });
});

describe("solid blocks: decoding", () => {
  const content = new TextEncoder().encode("x".repeat(1000) + "y".repeat(2000));
  const stored = brotliCompressSync(content);
  const chunk = (over: Partial<ChunkRef> = {}): ChunkRef => ({
    hash: H("1"),
    size: 2000,
    pack: 0,
    offset: 0,
    length: stored.length,
    codec: "br",
    solid: { blockSize: 3000, blockOffset: 1000 },
    ...over,
  });

  it("decodes a block and takes a chunk from it", () => {
    const block = decodeBlock(nodeBrotli, chunk(), stored, "block");
    assert.equal(new TextDecoder().decode(takeChunk(block, chunk())), "y".repeat(2000));
  });

  it("a block decoding to more than its declared size is E_TOO_LARGE (stopped at the cap)", () => {
    expectCode(
      () =>
        decodeBlock(
          nodeBrotli,
          chunk({ solid: { blockSize: 2500, blockOffset: 0 }, size: 100 }),
          stored,
          "b",
        ),
      "E_TOO_LARGE",
      "oversize",
    );
  });

  it("a block declared above 1024x its stored bytes is refused before decoding (E_TOO_LARGE)", () => {
    const bomb = brotliCompressSync(new Uint8Array(MAX_BLOCK_SIZE));
    assert.ok(bomb.length * 1024 < MAX_BLOCK_SIZE);
    expectCode(
      () =>
        decodeBlock(
          nodeBrotli,
          chunk({ length: bomb.length, size: 10, solid: { blockSize: MAX_BLOCK_SIZE, blockOffset: 0 } }),
          bomb,
          "bomb",
        ),
      "E_TOO_LARGE",
      "ratio",
    );
  });

  it("a short or corrupt block is E_HASH_MISMATCH", () => {
    expectCode(
      () => decodeBlock(nodeBrotli, chunk({ solid: { blockSize: 3500, blockOffset: 0 } }), stored, "short"),
      "E_HASH_MISMATCH",
      "short",
    );
    const damaged = Uint8Array.from(stored);
    damaged[Math.floor(damaged.length / 2)]! ^= 0xff;
    damaged.fill(0xff, damaged.length - 3);
    assert.throws(
      () => decodeBlock(nodeBrotli, chunk(), damaged, "damaged"),
      (e: unknown) => e instanceof FerryError && (e.code === "E_HASH_MISMATCH" || e.code === "E_TOO_LARGE"),
    );
  });
});
