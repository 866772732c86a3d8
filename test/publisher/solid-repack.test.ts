/** Sparse solid blocks are packed again (src/publisher/solid-repack.ts): which chunks qualify. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { KnownChunk } from "../../src/publisher/repo-index.js";
import { sparseBlockChunks } from "../../src/publisher/solid-repack.js";

const inBlock = (offset: number, blockOffset: number, size: number): KnownChunk => ({
  size,
  pack: "p".repeat(64),
  packSize: 10_000,
  offset,
  length: 50,
  codec: "br",
  solid: { blockSize: 1000, blockOffset },
});

describe("solid repack", () => {
  const known = new Map<string, KnownChunk>([
    // Block at 0: this release uses 300 of its 1000 bytes (sparse).
    ["a", inBlock(0, 0, 300)],
    ["b", inBlock(0, 300, 700)],
    // Block at 50: this release uses 600 of 1000 (kept).
    ["c", inBlock(50, 0, 600)],
    ["d", inBlock(50, 600, 400)],
    // A chunk stored alone: never repacked.
    ["e", { size: 10, pack: "p".repeat(64), packSize: 10_000, offset: 100, length: 10, codec: "raw" }],
  ]);
  const files = [
    {
      file: { path: "x/one.json", absolute: "/b/one" },
      chunks: [
        { hash: "e", size: 10 },
        { hash: "a", size: 300 },
      ],
    },
    { file: { path: "x/two.json", absolute: "/b/two" }, chunks: [{ hash: "c", size: 600 }] },
    // The same chunk again: listed once.
    { file: { path: "x/three.json", absolute: "/b/three" }, chunks: [{ hash: "a", size: 300 }] },
  ];

  it("takes the live chunks of blocks below half live, with their file and offset", () => {
    assert.deepEqual(sparseBlockChunks(files, known, new Map()), [
      { hash: "a", size: 300, path: "x/one.json", absolute: "/b/one", offset: 10 },
    ]);
  });

  it("skips chunks this publish already stores anew", () => {
    assert.deepEqual(sparseBlockChunks(files, known, new Map([["a", {}]])), []);
  });
});
