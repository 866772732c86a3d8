/**
 * Update planner (src/core/planner.ts). The central property: applying plan(target, local) to the
 * local files, in memory, yields exactly the target release (plus untracked files left alone).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import { DEFAULT_CHUNKING } from "../../src/core/chunker.js";
import { decode, encodeChunk } from "../../src/node/node-codec.js";
import {
  type ChunkRef,
  type DeltaRef,
  type FileEntry,
  type Manifest,
  parseManifest,
  serializeManifest,
} from "../../src/core/manifest.js";
import { type LocalFile, type Plan, plan } from "../../src/core/planner.js";
import { type CoalesceOptions, DEFAULT_COALESCE } from "../../src/core/ranges.js";

const sha256 = (data: Uint8Array): string => createHash("sha256").update(data).digest("hex");

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

// ---------------------------------------------------------------------------------------------------
// A tiny in-memory world: a pool of chunk contents stored in fake packs, old files and new files
// built from the pool.

interface FileSpec {
  readonly path: string;
  readonly chunks: readonly number[]; // indices into the pool
  readonly executable: boolean;
  /** Deltas to publish for this file: from old file `old` (index into the old files), `length` bytes. */
  readonly deltas?: readonly { readonly old: number; readonly length: number; readonly stored: boolean }[];
}

interface OldSpec extends FileSpec {
  readonly tracked: boolean;
}

interface World {
  readonly pool: readonly Uint8Array[];
  readonly refs: readonly ChunkRef[]; // aligned with pool
  readonly packs: readonly Uint8Array[];
  readonly target: Manifest;
  readonly local: readonly LocalFile[];
  readonly oldBytes: ReadonlyMap<string, { bytes: Uint8Array; executable: boolean; tracked: boolean }>;
  readonly newBytes: ReadonlyMap<string, { bytes: Uint8Array; executable: boolean }>;
  readonly stored: ReadonlySet<string>;
  /** Delta objects by hash: their bytes, and the source and target contents they stand for. */
  readonly deltaObjects: ReadonlyMap<string, { bytes: Uint8Array; from: string; target: Uint8Array }>;
}

/** Stand-in delta bytes: what the planner sees of a delta is its location, size and source. */
function fakeDelta(from: string, to: string, length: number): Uint8Array {
  const seed = createHash("sha256").update(`${from}>${to}`).digest();
  return Uint8Array.from({ length }, (_, i) => seed[i % 32]! ^ (i >> 5));
}

function buildWorld(
  pool: readonly Uint8Array[],
  packOf: readonly number[],
  oldFiles: readonly OldSpec[],
  newFiles: readonly FileSpec[],
  storedMask: readonly boolean[],
): World {
  const packParts: Uint8Array[][] = [[], []];
  const packSizes = [0, 0];
  const refs = pool.map((data, i): ChunkRef => {
    const pack = packOf[i]!;
    const encoded = encodeChunk(data, 5);
    const ref: ChunkRef = {
      hash: sha256(data),
      size: data.length,
      pack,
      offset: packSizes[pack]!,
      length: encoded.bytes.length,
      codec: encoded.codec,
    };
    packParts[pack]!.push(encoded.bytes);
    packSizes[pack]! += encoded.bytes.length;
    return ref;
  });
  const bytesOf = (indices: readonly number[]): Uint8Array => concat(indices.map((i) => pool[i]!));
  const deltaObjects = new Map<string, { bytes: Uint8Array; from: string; target: Uint8Array }>();
  const storedDeltas = new Set<string>();
  const deltaRefs = new Map<string, DeltaRef[]>();
  for (const f of newFiles) {
    const target = bytesOf(f.chunks);
    const refsOfFile: DeltaRef[] = [];
    for (const d of f.deltas ?? []) {
      const old = oldFiles[d.old];
      if (!old) continue;
      const source = bytesOf(old.chunks);
      const from = sha256(source);
      if (from === sha256(target) || refsOfFile.some((r) => r.from === from)) continue;
      const bytes = fakeDelta(from, sha256(target), d.length);
      const hash = sha256(bytes);
      refsOfFile.push({
        from,
        fromSize: source.length,
        hash,
        size: bytes.length,
        pack: 1,
        offset: packSizes[1]!,
        length: bytes.length,
      });
      packParts[1]!.push(bytes);
      packSizes[1]! += bytes.length;
      deltaObjects.set(hash, { bytes, from, target });
      if (d.stored) storedDeltas.add(hash);
    }
    if (refsOfFile.length > 0) deltaRefs.set(f.path, refsOfFile);
  }
  const packs = packParts.map(concat);

  const local = oldFiles.map((f): LocalFile => {
    const bytes = bytesOf(f.chunks);
    return {
      path: f.path,
      sha256: sha256(bytes),
      size: bytes.length,
      executable: f.executable,
      chunks: f.chunks.map((i) => [refs[i]!.hash, refs[i]!.size] as const),
      tracked: f.tracked,
    };
  });
  const files = [...newFiles]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((f): FileEntry => {
      const bytes = bytesOf(f.chunks);
      return {
        path: f.path,
        size: bytes.length,
        sha256: sha256(bytes),
        executable: f.executable,
        package: "base",
        chunks: f.chunks.map((i) => refs[i]!),
        ...(deltaRefs.has(f.path) ? { deltas: deltaRefs.get(f.path)! } : {}),
      };
    });
  const target: Manifest = {
    format: 1,
    version: "2.0.0",
    created: "2026-11-21T22:00:00Z",
    previous: null,
    chunking: DEFAULT_CHUNKING,
    packs: packs.map((p) => ({ id: sha256(p), size: p.length })),
    packages: { base: { optional: false } },
    files,
  };
  return {
    pool,
    refs,
    packs,
    target,
    local,
    oldBytes: new Map(
      oldFiles.map((f) => [
        f.path,
        { bytes: bytesOf(f.chunks), executable: f.executable, tracked: f.tracked },
      ]),
    ),
    newBytes: new Map(newFiles.map((f) => [f.path, { bytes: bytesOf(f.chunks), executable: f.executable }])),
    stored: new Set([...refs.filter((_, i) => storedMask[i]).map((r) => r.hash), ...storedDeltas]),
    deltaObjects,
  };
}

type Disk = Map<string, { bytes: Uint8Array; executable: boolean }>;

/**
 * Applies a plan the way the client does: download the ranges (verifying every chunk), assemble all
 * writes in staging from the *old* files and the chunk store, then move them in and delete.
 */
function apply(world: World, p: Plan): Disk {
  const store = new Map<string, Uint8Array>();
  world.refs.forEach((ref, i) => {
    if (world.stored.has(ref.hash)) store.set(ref.hash, world.pool[i]!);
  });
  for (const [hash, d] of world.deltaObjects) if (world.stored.has(hash)) store.set(hash, d.bytes);
  for (const range of p.ranges) {
    const pack = world.packs[range.pack];
    assert.ok(pack, `range names pack ${range.pack}`);
    assert.ok(range.start >= 0 && range.end <= pack.length && range.start < range.end);
    const body = pack.subarray(range.start, range.end);
    for (const c of range.chunks) {
      const stored = body.subarray(c.offset - range.start, c.offset - range.start + c.length);
      const data = decode(c.codec, stored, c.size, `chunk ${c.hash}`);
      assert.equal(sha256(data), c.hash, "downloaded chunk verifies");
      store.set(c.hash, data);
    }
  }

  const staged = p.writes.map((w) => {
    assert.equal(w.sources.length, w.file.chunks.length, "one source per chunk");
    if (w.delta) {
      const object = store.get(w.delta.ref.hash);
      assert.ok(object, `delta ${w.delta.ref.hash} was neither stored nor fetched`);
      const known = world.deltaObjects.get(w.delta.ref.hash);
      assert.ok(known && sha256(object) === w.delta.ref.hash, "the delta object verifies");
      const source = world.oldBytes.get(w.delta.sourcePath);
      assert.ok(source, `delta source ${w.delta.sourcePath} exists`);
      assert.equal(sha256(source.bytes), w.delta.ref.from, "the delta's source holds its from content");
      assert.equal(known.from, w.delta.ref.from);
      return { path: w.file.path, bytes: known.target, executable: w.file.executable };
    }
    const parts = w.file.chunks.map((c, j) => {
      const source = w.sources[j]!;
      if (source.kind === "local") {
        const old = world.oldBytes.get(source.path);
        assert.ok(old, `local source ${source.path} exists`);
        const part = old.bytes.subarray(source.offset, source.offset + c.size);
        assert.equal(sha256(part), c.hash, `local source ${source.path}@${source.offset} holds the chunk`);
        return part;
      }
      const data = store.get(c.hash);
      assert.ok(data, `store source for ${c.hash} was neither stored nor fetched`);
      return data;
    });
    const bytes = concat(parts);
    assert.equal(bytes.length, w.file.size);
    assert.equal(sha256(bytes), w.file.sha256);
    return { path: w.file.path, bytes, executable: w.file.executable };
  });

  const disk: Disk = new Map(
    [...world.oldBytes].map(([path, f]) => [path, { bytes: f.bytes, executable: f.executable }]),
  );
  for (const s of staged) disk.set(s.path, { bytes: s.bytes, executable: s.executable });
  for (const path of p.deletes) disk.delete(path);
  return disk;
}

function expectedDisk(world: World): Disk {
  const disk: Disk = new Map(world.newBytes);
  for (const [path, f] of world.oldBytes) {
    if (!f.tracked && !disk.has(path)) disk.set(path, { bytes: f.bytes, executable: f.executable });
  }
  return disk;
}

function normalize(disk: Disk): Record<string, { hex: string; executable: boolean }> {
  return Object.fromEntries(
    [...disk]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([path, f]) => [path, { hex: Buffer.from(f.bytes).toString("hex"), executable: f.executable }]),
  );
}

function checkInvariants(world: World, p: Plan): void {
  const localHashes = new Set(world.local.flatMap((f) => f.chunks.map(([hash]) => hash)));
  const fetchHashes = p.fetch.map((c) => c.hash);
  assert.equal(new Set(fetchHashes).size, fetchHashes.length, "fetch lists unique chunks");
  for (const hash of fetchHashes) {
    assert.ok(!localHashes.has(hash), `fetched chunk ${hash} is available locally`);
    assert.ok(!world.stored.has(hash), `fetched chunk ${hash} is already stored`);
  }
  const neededFromStore = new Set(
    p.writes.flatMap((w) =>
      w.delta
        ? [w.delta.ref.hash]
        : w.file.chunks.filter((_, j) => w.sources[j]!.kind === "store").map((c) => c.hash),
    ),
  );
  for (const hash of fetchHashes) assert.ok(neededFromStore.has(hash), `fetched chunk ${hash} is not needed`);
  for (const hash of neededFromStore) {
    assert.ok(world.stored.has(hash) || fetchHashes.includes(hash), `chunk ${hash} has no source`);
  }

  const targetPaths = new Set(world.target.files.map((f) => f.path));
  const expectedDeletes = world.local.filter((f) => f.tracked && !targetPaths.has(f.path)).map((f) => f.path);
  assert.deepEqual(
    [...p.deletes].sort(),
    [...expectedDeletes].sort(),
    "deletes = tracked old paths not in target",
  );
  for (const f of world.local) {
    if (!f.tracked) assert.ok(!p.deletes.includes(f.path), `untracked ${f.path} deleted`);
  }

  const localByPath = new Map(world.local.map((f) => [f.path, f]));
  const unchanged = world.target.files
    .filter((f) => {
      const l = localByPath.get(f.path);
      return l !== undefined && l.sha256 === f.sha256 && l.size === f.size && l.executable === f.executable;
    })
    .map((f) => f.path);
  assert.deepEqual([...p.keep].sort(), unchanged.sort(), "keep = exactly the unchanged files");
  const written = p.writes.map((w) => w.file.path);
  assert.deepEqual(
    [...p.keep, ...written].sort(),
    [...targetPaths].sort(),
    "every target file is either kept or written, once",
  );

  const fetchedLength = p.fetch.reduce((sum, c) => sum + c.length, 0);
  const rangeBytes = p.ranges.reduce((sum, r) => sum + (r.end - r.start), 0);
  assert.ok(p.downloadBytes >= fetchedLength, "downloadBytes covers the fetched chunks");
  assert.equal(p.downloadBytes, rangeBytes);
  assert.equal(
    p.writeBytes,
    p.writes.reduce((sum, w) => sum + w.file.size, 0),
  );
  const inRanges = p.ranges.flatMap((r) => r.chunks.map((c) => c.hash)).sort();
  assert.deepEqual(inRanges, [...fetchHashes].sort(), "ranges cover exactly the fetched chunks");
}

// ---------------------------------------------------------------------------------------------------
// Arbitraries

const NAMES = ["a", "b", "bin/game", "c/d", "c/e", "f.bin", "g/h/i", "z z.txt"];

const poolArb = fc.uniqueArray(
  fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 60 }),
    // Compressible contents, so that some chunks are stored with the br codec.
    fc
      .tuple(fc.integer({ min: 64, max: 400 }), fc.integer({ min: 0, max: 255 }))
      .map(([n, b]) => new Uint8Array(n).fill(b)),
  ),
  { minLength: 1, maxLength: 10, selector: (b) => Buffer.from(b).toString("hex") },
);

const optionsArb: fc.Arbitrary<CoalesceOptions> = fc.oneof(
  fc.constant(DEFAULT_COALESCE),
  fc.record({ maxGap: fc.nat({ max: 500 }), maxRange: fc.integer({ min: 1, max: 2000 }) }),
);

interface Scenario {
  readonly world: World;
  readonly options: CoalesceOptions;
}

const scenarioArb: fc.Arbitrary<Scenario> = poolArb.chain((pool) => {
  const indices = fc.array(fc.nat({ max: pool.length - 1 }), { maxLength: 5 });
  const oldArb = fc.uniqueArray(
    fc.record({
      path: fc.constantFrom(...NAMES),
      chunks: indices,
      executable: fc.boolean(),
      tracked: fc.boolean(),
    }),
    { selector: (f) => f.path, maxLength: NAMES.length },
  );
  const newArb = fc.uniqueArray(
    fc.record({
      path: fc.constantFrom(...NAMES),
      chunks: indices,
      executable: fc.boolean(),
      // How the new file relates to an old file of the same path, if there is one.
      mode: fc.constantFrom("same", "same", "flip-executable", "fresh"),
      deltas: fc.array(
        fc.record({
          old: fc.nat({ max: NAMES.length }),
          length: fc.integer({ min: 1, max: 300 }),
          stored: fc.boolean(),
        }),
        { maxLength: 3 },
      ),
    }),
    { selector: (f) => f.path, maxLength: NAMES.length },
  );
  return fc
    .record({
      oldFiles: oldArb,
      newSpecs: newArb,
      packOf: fc.array(fc.nat({ max: 1 }), { minLength: pool.length, maxLength: pool.length }),
      stored: fc.array(fc.boolean(), { minLength: pool.length, maxLength: pool.length }),
      options: optionsArb,
    })
    .map(({ oldFiles, newSpecs, packOf, stored, options }): Scenario => {
      const oldByPath = new Map(oldFiles.map((f) => [f.path, f]));
      const newFiles = newSpecs.map((f): FileSpec => {
        const old = oldByPath.get(f.path);
        if (old && f.mode === "same") return { path: f.path, chunks: old.chunks, executable: old.executable };
        if (old && f.mode === "flip-executable")
          return { path: f.path, chunks: old.chunks, executable: !old.executable };
        return { path: f.path, chunks: f.chunks, executable: f.executable, deltas: f.deltas };
      });
      return { world: buildWorld(pool, packOf, oldFiles, newFiles, stored), options };
    });
});

// ---------------------------------------------------------------------------------------------------

describe("planner: properties", () => {
  it("the generated target manifests are valid", () => {
    fc.assert(
      fc.property(scenarioArb, ({ world }) => {
        const text = new TextDecoder().decode(serializeManifest(world.target));
        assert.deepEqual(parseManifest(JSON.parse(text)), world.target);
      }),
      { numRuns: 50 },
    );
  });

  it("apply(plan(target, local), local) == target (untracked files left alone)", () => {
    fc.assert(
      fc.property(scenarioArb, ({ world, options }) => {
        const p = plan(world.target, world.local, world.stored, options);
        assert.deepEqual(normalize(apply(world, p)), normalize(expectedDisk(world)));
      }),
      { numRuns: 300 },
    );
  });

  it("plan invariants: minimal fetch, exact deletes and keeps, download accounting", () => {
    fc.assert(
      fc.property(scenarioArb, ({ world, options }) => {
        checkInvariants(world, plan(world.target, world.local, world.stored, options));
      }),
      { numRuns: 300 },
    );
  });

  it("deltas: chosen only when cheaper than the chunks they replace; payload never above the chunk-only plan", () => {
    let chosen = 0;
    fc.assert(
      fc.property(scenarioArb, ({ world, options }) => {
        const p = plan(world.target, world.local, world.stored, options);
        const withoutDeltas: Manifest = {
          ...world.target,
          files: world.target.files.map(({ deltas: _, ...f }) => f),
        };
        const q = plan(withoutDeltas, world.local, world.stored, options);
        const payload = (x: Plan): number => x.fetch.reduce((sum, c) => sum + c.length, 0);
        assert.ok(payload(p) <= payload(q), `payload ${payload(p)} > chunk-only ${payload(q)}`);
        for (const w of p.writes) {
          if (!w.delta) continue;
          chosen++;
          assert.ok(w.file.deltas?.includes(w.delta.ref), "the delta is one of the file's");
          const missing = new Map(
            w.file.chunks
              .filter((c, j) => w.sources[j]!.kind === "store" && !world.stored.has(c.hash))
              .map((c) => [c.hash, c.length]),
          );
          const chunkBytes = [...missing.values()].reduce((a, b) => a + b, 0);
          const cost = world.stored.has(w.delta.ref.hash) ? 0 : w.delta.ref.length;
          assert.ok(
            cost < chunkBytes,
            `delta cost ${cost} not below the file's missing chunks ${chunkBytes}`,
          );
        }
      }),
      { numRuns: 300 },
    );
    assert.ok(chosen > 0, "some generated scenarios use deltas");
  });

  it("planning is deterministic", () => {
    fc.assert(
      fc.property(scenarioArb, ({ world, options }) => {
        assert.deepEqual(
          plan(world.target, world.local, world.stored, options),
          plan(world.target, world.local, world.stored, options),
        );
      }),
      { numRuns: 50 },
    );
  });
});

describe("planner: examples", () => {
  const pool = [1, 2, 3, 4].map((n) => new Uint8Array(100).map((_, i) => (i * 31 + n * 7) & 0xff));
  const none = [false, false, false, false];

  describe("deltas", () => {
    // Old "a" = chunks 0,1; new "a" = chunks 0,2,3 (two missing chunks, 200 stored bytes: raw).
    const old = [{ path: "a", chunks: [0, 1], executable: false, tracked: true }];
    const edited = (length: number, stored = false, from = 0) => [
      { path: "a", chunks: [0, 2, 3], executable: false, deltas: [{ old: from, length, stored }] },
    ];

    it("a delta cheaper than the missing chunks is used and fetched instead of them", () => {
      const world = buildWorld(pool, [0, 0, 0, 0], old, edited(50), none);
      const p = plan(world.target, world.local, world.stored);
      assert.equal(p.writes[0]!.delta?.sourcePath, "a");
      assert.deepEqual(
        p.fetch.map((c) => [c.hash, c.codec, c.length]),
        [[world.target.files[0]!.deltas![0]!.hash, "raw", 50]],
      );
      assert.deepEqual(normalize(apply(world, p)), normalize(expectedDisk(world)));
    });

    it("a delta as large as the missing chunks is not used", () => {
      const world = buildWorld(pool, [0, 0, 0, 0], old, edited(200), none);
      const p = plan(world.target, world.local, world.stored);
      assert.equal(p.writes[0]!.delta, undefined);
      assert.deepEqual(p.fetch.map((c) => c.hash).sort(), [world.refs[2]!.hash, world.refs[3]!.hash].sort());
    });

    it("a delta whose source content is not on disk is not used", () => {
      const other = [{ path: "b", chunks: [1, 0], executable: false, tracked: true }, ...old];
      const world = buildWorld(pool, [0, 0, 0, 0], other, edited(10, false, 0), none);
      // The delta is from "b" (chunks 1,0); remove "b" from disk: only "a" (chunks 0,1) remains.
      const p = plan(
        world.target,
        world.local.filter((f) => f.path !== "b"),
        world.stored,
      );
      assert.equal(p.writes[0]!.delta, undefined);
      const q = plan(world.target, world.local, world.stored);
      assert.equal(q.writes[0]!.delta?.sourcePath, "b", "any path with the source content will do");
    });

    it("a delta already in the store costs nothing and is not fetched", () => {
      const world = buildWorld(pool, [0, 0, 0, 0], old, edited(150, true), none);
      const p = plan(world.target, world.local, world.stored);
      assert.ok(p.writes[0]!.delta);
      assert.deepEqual(p.fetch, []);
      assert.deepEqual(normalize(apply(world, p)), normalize(expectedDisk(world)));
    });

    it("chunks another write needs anyway do not count as saved", () => {
      // "c" needs chunks 2 and 3 too: the delta would save nothing.
      const world = buildWorld(
        pool,
        [0, 0, 0, 0],
        old,
        [...edited(10), { path: "c", chunks: [2, 3], executable: false }],
        none,
      );
      const p = plan(world.target, world.local, world.stored);
      assert.equal(p.writes[0]!.delta, undefined);
    });
  });

  it("fresh install: every unique chunk is fetched, every file written", () => {
    const world = buildWorld(
      pool,
      [0, 0, 1, 1],
      [],
      [
        { path: "a", chunks: [0, 1, 0], executable: false },
        { path: "b", chunks: [2, 3], executable: true },
        { path: "empty", chunks: [], executable: false },
      ],
      none,
    );
    const p = plan(world.target, world.local, world.stored);
    assert.deepEqual(p.fetch.map((c) => c.hash).sort(), world.refs.map((r) => r.hash).sort());
    assert.deepEqual(
      p.writes.map((w) => w.file.path),
      ["a", "b", "empty"],
    );
    assert.deepEqual(p.keep, []);
    assert.deepEqual(p.deletes, []);
    assert.equal(p.ranges.length, 2, "one range per pack with default coalescing");
    assert.deepEqual(normalize(apply(world, p)), normalize(expectedDisk(world)));
  });

  it("no change: everything kept, nothing fetched or written", () => {
    const files = [
      { path: "a", chunks: [0, 1], executable: false },
      { path: "b", chunks: [2], executable: true },
    ];
    const world = buildWorld(
      pool,
      [0, 0, 0, 0],
      files.map((f) => ({ ...f, tracked: true })),
      files,
      none,
    );
    const p = plan(world.target, world.local, world.stored);
    assert.deepEqual(p.keep, ["a", "b"]);
    assert.deepEqual(p.writes, []);
    assert.deepEqual(p.fetch, []);
    assert.deepEqual(p.ranges, []);
    assert.equal(p.downloadBytes, 0);
    assert.equal(p.writeBytes, 0);
  });

  it("moved and edited files reuse local chunks; only new chunks are fetched; stored chunks are reused", () => {
    const world = buildWorld(
      pool,
      [0, 0, 0, 0],
      [
        { path: "old/name", chunks: [0, 1], executable: false, tracked: true },
        { path: "user.cfg", chunks: [2], executable: false, tracked: false },
      ],
      [
        { path: "new/name", chunks: [0, 1], executable: false },
        { path: "edited", chunks: [1, 3, 2], executable: true },
      ],
      [false, false, false, true],
    );
    const p = plan(world.target, world.local, world.stored);
    assert.deepEqual(p.fetch, []);
    assert.deepEqual(p.deletes, ["old/name"], "the untracked user.cfg is not deleted");
    const edited = p.writes.find((w) => w.file.path === "edited")!;
    assert.deepEqual(edited.sources, [
      { kind: "local", path: "old/name", offset: 100 },
      { kind: "store" },
      { kind: "local", path: "user.cfg", offset: 0 },
    ]);
    assert.deepEqual(normalize(apply(world, p)), normalize(expectedDisk(world)));
  });

  it("an executable-bit change rewrites the file from local chunks without downloading", () => {
    const world = buildWorld(
      pool,
      [0, 0, 0, 0],
      [{ path: "bin/game", chunks: [0, 1], executable: false, tracked: true }],
      [{ path: "bin/game", chunks: [0, 1], executable: true }],
      none,
    );
    const p = plan(world.target, world.local, world.stored);
    assert.deepEqual(p.keep, []);
    assert.equal(p.writes.length, 1);
    assert.ok(p.writes[0]!.sources.every((s) => s.kind === "local"));
    assert.deepEqual(p.fetch, []);
    assert.deepEqual(normalize(apply(world, p)), normalize(expectedDisk(world)));
  });
});
