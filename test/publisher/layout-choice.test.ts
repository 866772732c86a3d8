import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { FileEntry, Manifest } from "../../src/core/manifest.js";
import { serializeManifest } from "../../src/core/manifest.js";
import { DEFAULT_CHUNKING } from "../../src/core/chunker.js";
import { brotli } from "../../src/node/node-codec.js";
import { sha256 } from "../../src/node/node-crypto.js";
import { distinctHashes, mayStayInline } from "../../src/publisher/layout-choice.js";

const hash = (s: string): string => sha256(new TextEncoder().encode(s));

function manifest(files: number, pathLength: number, chunksPerFile: number): Manifest {
  const entries: FileEntry[] = [];
  for (let i = 0; i < files; i++) {
    const chunks = Array.from({ length: chunksPerFile }, (_, c) => ({
      hash: chunksPerFile === 1 ? hash(`f${i}`) : hash(`f${i}c${c}`),
      size: 1000 + c,
      pack: 0,
      offset: i * 4000 + c * 1000,
      length: 900,
      codec: "br" as const,
    }));
    entries.push({
      path: `dir${i % 7}/${"n".repeat(pathLength)}-${String(i).padStart(6, "0")}.json`,
      size: chunks.reduce((s, c) => s + c.size, 0),
      sha256: hash(`f${i}`),
      executable: false,
      package: "base",
      chunks,
    });
  }
  return {
    format: 1,
    version: "1.0.0",
    created: "2026-12-01T00:00:00Z",
    previous: null,
    chunking: DEFAULT_CHUNKING,
    packs: [{ id: hash("pack"), size: files * 4000 }],
    packages: { base: { optional: false } },
    files: entries,
  };
}

test("distinct hashes count each SHA-256 once (a one-chunk file's hash is its chunk's)", () => {
  assert.equal(distinctHashes(manifest(10, 5, 1)), 11);
  assert.equal(distinctHashes(manifest(10, 5, 3)), 41);
});

test("auto never rules out inline when quality 11 would fit: the same layout as compressing everything", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 60 }),
      fc.integer({ min: 1, max: 80 }),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1024, max: 16 * 1024 }),
      (files, pathLength, chunks, limit) => {
        const m = manifest(files, pathLength, chunks);
        const raw = serializeManifest(m);
        const fits = brotli(raw, 11).length <= limit;
        // mayStayInline false must mean "does not fit"; it may say true for one that does not.
        return mayStayInline(m, () => raw, limit) || !fits;
      },
    ),
    { numRuns: 25 },
  );
});

test("a large manifest is ruled out by its hashes alone, without serializing it", () => {
  let serialized = false;
  const m = manifest(3000, 10, 1);
  assert.equal(
    mayStayInline(
      m,
      () => {
        serialized = true;
        return serializeManifest(m);
      },
      64 * 1024,
    ),
    false,
  );
  assert.equal(serialized, false);
});
