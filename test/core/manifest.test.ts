/** Release manifest, docs/FORMAT.md §5 (and the format/requires rules of the preamble). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { canonicalJson } from "../../src/core/canonical-json.js";
import { DEFAULT_CHUNKING } from "../../src/core/chunker.js";
import { FerryError, type FerryErrorCode } from "../../src/core/errors.js";
import {
  type ChunkRef,
  type DeltaRef,
  type FileEntry,
  MAX_DELTA_SIZE,
  type Manifest,
  manifestToJson,
  type PackRef,
  parseManifest,
  serializeManifest,
  totalSize,
} from "../../src/core/manifest.js";

const H = (c: string): string => c.repeat(64);

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

type Json = Record<string, unknown>;

/** A valid manifest document (as JSON.parse would return it). */
function baseDoc(): Json {
  return {
    format: 1,
    type: "ferry-release",
    requires: [],
    version: "1.2.0",
    created: "2026-11-21T22:00:00Z",
    previous: { hash: H("9"), size: 1234 },
    chunking: { algorithm: "fastcdc-gear32-v1", min: 4096, avg: 16384, max: 65536 },
    packs: [
      { id: H("a"), size: 100000 },
      { id: H("b"), size: 5000 },
    ],
    packages: { base: { optional: false }, hd: { optional: true } },
    files: [
      {
        path: "bin/game",
        size: 70000,
        sha256: H("1"),
        executable: true,
        package: "base",
        chunks: [
          [H("c"), 65536, 0, 1024, 40000, "br"],
          [H("d"), 4464, 0, 41024, 4464, "raw"],
        ],
      },
      { path: "data/empty", size: 0, sha256: H("2"), executable: false, package: "base", chunks: [] },
      {
        path: "data/tex.bin",
        size: 3000,
        sha256: H("3"),
        executable: false,
        package: "hd",
        chunks: [[H("e"), 3000, 1, 2000, 3000, "raw"]],
      },
    ],
  };
}

function files(doc: Json): Json[] {
  return doc.files as Json[];
}

function mutated(change: (doc: Json) => void): Json {
  const doc = baseDoc();
  change(doc);
  return doc;
}

describe("manifest: parse", () => {
  it("parses the FORMAT.md §5 example shape", () => {
    const m = parseManifest(baseDoc());
    assert.equal(m.format, 1);
    assert.equal(m.version, "1.2.0");
    assert.deepEqual(m.previous, { hash: H("9"), size: 1234 });
    assert.deepEqual(m.chunking, { algorithm: "fastcdc-gear32-v1", min: 4096, avg: 16384, max: 65536 });
    assert.deepEqual(m.packages, { base: { optional: false }, hd: { optional: true } });
    assert.equal(m.files.length, 3);
    assert.deepEqual(m.files[0]!.chunks[0], {
      hash: H("c"),
      size: 65536,
      pack: 0,
      offset: 1024,
      length: 40000,
      codec: "br",
    });
    assert.equal(totalSize(m), 73000);
  });

  it("accepts previous: null and a missing requires", () => {
    const m = parseManifest(
      mutated((d) => {
        d.previous = null;
        delete d.requires;
      }),
    );
    assert.equal(m.previous, null);
  });

  it("ignores unknown fields everywhere (forward compatibility)", () => {
    const extended = mutated((d) => {
      d.futureField = { anything: [1, 2, 3] };
      d.comment = "hello";
      (d.previous as Json).note = "x";
      (d.chunking as Json).window = 64;
      (d.packs as Json[])[0]!.region = "eu";
      ((d.packages as Json).base as Json).description = "the game";
      files(d)[0]!.mode = 0o755;
      files(d)[0]!.mtime = "2026-11-21T22:00:00Z";
    });
    assert.deepEqual(parseManifest(extended), parseManifest(baseDoc()));
  });

  const delta = (over: Json = {}): Json => ({
    from: H("7"),
    fromSize: 60000,
    hash: H("8"),
    size: 900,
    pack: 1,
    offset: 10,
    length: 900,
    ...over,
  });

  it("parses optional deltas (FORMAT.md §9) and ignores unknown fields in them", () => {
    const doc = mutated((d) => (files(d)[0]!.deltas = [delta({ note: "x" }), delta({ from: H("6") })]));
    const parsed = parseManifest(doc);
    assert.deepEqual(parsed.files[0]!.deltas, [
      { from: H("7"), fromSize: 60000, hash: H("8"), size: 900, pack: 1, offset: 10, length: 900 },
      { from: H("6"), fromSize: 60000, hash: H("8"), size: 900, pack: 1, offset: 10, length: 900 },
    ]);
    assert.equal(parsed.files[1]!.deltas, undefined);
    // No requires entry: a reader without delta support reads the same files and chunks.
    assert.deepEqual(
      serializeManifest(parseManifest(baseDoc())),
      serializeManifest({
        ...parsed,
        files: parsed.files.map(({ deltas: _, ...f }) => f),
      }),
    );
  });

  const deltaRejections: [string, (d: Json) => void][] = [
    ["deltas not an array", (d) => (files(d)[0]!.deltas = {})],
    ["delta not an object", (d) => (files(d)[0]!.deltas = [[H("7"), 1]])],
    ["delta from not a hash", (d) => (files(d)[0]!.deltas = [delta({ from: "x" })])],
    ["delta hash uppercase", (d) => (files(d)[0]!.deltas = [delta({ hash: H("A") })])],
    ["delta fromSize negative", (d) => (files(d)[0]!.deltas = [delta({ fromSize: -1 })])],
    ["delta size zero", (d) => (files(d)[0]!.deltas = [delta({ size: 0, length: 0 })])],
    ["delta size fractional", (d) => (files(d)[0]!.deltas = [delta({ size: 1.5 })])],
    ["delta length differs from size", (d) => (files(d)[0]!.deltas = [delta({ length: 901 })])],
    ["delta pack out of range", (d) => (files(d)[0]!.deltas = [delta({ pack: 2 })])],
    ["delta outside its pack", (d) => (files(d)[0]!.deltas = [delta({ offset: 4101 })])],
    [
      "delta larger than MAX_DELTA_SIZE",
      (d) => {
        (d.packs as Json[])[0]!.size = 2 * MAX_DELTA_SIZE;
        files(d)[0]!.deltas = [
          delta({ pack: 0, offset: 0, size: MAX_DELTA_SIZE + 1, length: MAX_DELTA_SIZE + 1 }),
        ];
      },
    ],
    ["delta missing hash", (d) => (files(d)[0]!.deltas = [{ ...delta(), hash: undefined }])],
    ["two deltas from the same source", (d) => (files(d)[0]!.deltas = [delta(), delta({ hash: H("5") })])],
    ["delta from the file itself", (d) => (files(d)[0]!.deltas = [delta({ from: H("1") })])],
    [
      "more than 8 deltas",
      (d) => (files(d)[0]!.deltas = Array.from({ length: 9 }, (_, i) => delta({ from: `${i}`.repeat(64) }))),
    ],
  ];
  for (const [label, change] of deltaRejections) {
    it(`rejects ${label} with E_FORMAT`, () => {
      expectCode(() => parseManifest(mutated(change)), "E_FORMAT", label);
    });
  }

  const rejections: [string, FerryErrorCode, (d: Json) => void][] = [
    ["format 2", "E_UNSUPPORTED_FORMAT", (d) => (d.format = 2)],
    ["format 99", "E_UNSUPPORTED_FORMAT", (d) => (d.format = 99)],
    // Regression: format 0 used to be E_FORMAT; the preamble says any unknown format is E_UNSUPPORTED_FORMAT.
    ["format 0", "E_UNSUPPORTED_FORMAT", (d) => (d.format = 0)],
    ["unknown requires feature", "E_UNSUPPORTED_FORMAT", (d) => (d.requires = ["deltas"])],
    ["unknown requires feature after none", "E_UNSUPPORTED_FORMAT", (d) => (d.requires = ["tree", "x"])],
    ["missing format", "E_FORMAT", (d) => delete d.format],
    ["string format", "E_FORMAT", (d) => (d.format = "1")],
    ["wrong type", "E_FORMAT", (d) => (d.type = "ferry-channel")],
    ["requires not an array", "E_FORMAT", (d) => (d.requires = "deltas")],
    ["bad version", "E_FORMAT", (d) => (d.version = "../1")],
    ["bad created time (fractional seconds)", "E_FORMAT", (d) => (d.created = "2026-11-21T22:00:00.5Z")],
    ["bad created time (offset)", "E_FORMAT", (d) => (d.created = "2026-11-21T22:00:00+01:00")],
    ["bad previous hash", "E_FORMAT", (d) => (d.previous = { hash: "abc", size: 1 })],
    ["bad chunking algorithm", "E_FORMAT", (d) => ((d.chunking as Json).algorithm = "rabin")],
    ["chunking avg not a power of two", "E_FORMAT", (d) => ((d.chunking as Json).avg = 10000)],
    ["pack id not a hash", "E_FORMAT", (d) => ((d.packs as Json[])[0]!.id = "pack-1")],
    ["bad package name", "E_FORMAT", (d) => ((d.packages as Json).Base = { optional: false })],
    ["package optional not boolean", "E_FORMAT", (d) => ((d.packages as Json).hd = { optional: "yes" })],
    ["chunk hash uppercase", "E_FORMAT", (d) => ((files(d)[0]!.chunks as unknown[][])[0]![0] = H("C"))],
    [
      "chunk hash too short",
      "E_FORMAT",
      (d) => ((files(d)[0]!.chunks as unknown[][])[0]![0] = "c".repeat(63)),
    ],
    ["chunk hash not a string", "E_FORMAT", (d) => ((files(d)[0]!.chunks as unknown[][])[0]![0] = 12)],
    ["chunk tuple of 5 elements", "E_FORMAT", (d) => (files(d)[0]!.chunks as unknown[][])[0]!.pop()],
    ["chunk tuple as object", "E_FORMAT", (d) => ((files(d)[2]!.chunks as unknown[])[0] = { hash: H("e") })],
    ["chunk negative offset", "E_FORMAT", (d) => ((files(d)[2]!.chunks as unknown[][])[0]![3] = -1)],
    ["chunk fractional size", "E_FORMAT", (d) => ((files(d)[0]!.chunks as unknown[][])[1]![1] = 4464.5)],
    ["chunk unknown codec", "E_FORMAT", (d) => ((files(d)[0]!.chunks as unknown[][])[0]![5] = "zstd")],
    ["chunk pack index out of range", "E_FORMAT", (d) => ((files(d)[2]!.chunks as unknown[][])[0]![2] = 2)],
    // data/tex.bin: pack 1 has 5000 bytes; 2001 + 3000 > 5000.
    ["chunk outside its pack", "E_FORMAT", (d) => ((files(d)[2]!.chunks as unknown[][])[0]![3] = 2001)],
    ["chunk outside its pack (pack too small)", "E_FORMAT", (d) => ((d.packs as Json[])[0]!.size = 45487)],
    [
      "raw chunk whose length differs from its size",
      "E_FORMAT",
      (d) => {
        const chunk = (files(d)[2]!.chunks as unknown[][])[0]!;
        chunk[4] = 2999;
      },
    ],
    ["file size not the sum of its chunk sizes", "E_FORMAT", (d) => (files(d)[0]!.size = 70001)],
    ["empty file with a non-zero size", "E_FORMAT", (d) => (files(d)[1]!.size = 1)],
    ["file sha256 not a hash", "E_FORMAT", (d) => (files(d)[0]!.sha256 = "x")],
    ["executable not a boolean", "E_FORMAT", (d) => (files(d)[0]!.executable = 1)],
    ["unknown package", "E_FORMAT", (d) => (files(d)[0]!.package = "extras")],
    // "constructor" matches the package-name pattern and is inherited by every object.
    [
      "undeclared package named like an Object.prototype member",
      "E_FORMAT",
      (d) => (files(d)[0]!.package = "constructor"),
    ],
    ["unsorted files", "E_FORMAT", (d) => files(d).reverse()],
    [
      "unsorted files (UTF-16 order: 'B' < 'a')",
      "E_FORMAT",
      (d) => {
        files(d)[0]!.path = "a/game";
        files(d)[1]!.path = "B/empty";
        files(d)[2]!.path = "c/tex";
      },
    ],
    // A duplicate is the simplest collision: reported as one (E_UNSAFE_PATH), before the order check.
    ["duplicate paths", "E_UNSAFE_PATH", (d) => (files(d)[1]!.path = "bin/game")],
    ["unsafe path", "E_UNSAFE_PATH", (d) => (files(d)[0]!.path = "../bin/game")],
    ["reserved .ferry path", "E_UNSAFE_PATH", (d) => (files(d)[0]!.path = ".ferry/state.json")],
    [
      "case collision",
      "E_UNSAFE_PATH",
      (d) => {
        files(d)[0]!.path = "DATA/empty";
        files(d)[1]!.path = "data/Empty";
      },
    ],
    [
      "file/directory conflict",
      "E_UNSAFE_PATH",
      (d) => {
        files(d)[0]!.path = "data";
      },
    ],
  ];

  for (const [label, code, change] of rejections) {
    it(`rejects ${label} with ${code}`, () => {
      expectCode(() => parseManifest(mutated(change)), code, label);
    });
  }

  it("rejects documents that are not objects with E_FORMAT", () => {
    for (const doc of [null, [], "manifest", 1, true]) {
      expectCode(() => parseManifest(doc), "E_FORMAT", JSON.stringify(doc));
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// Round trip over arbitrary valid manifests

const hexArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString("hex"));
const RESERVED = /^(con|prn|aux|nul|com[1-9]|lpt[1-9])$/i;
const segmentArb = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_-][A-Za-z0-9_. -]{0,8}[A-Za-z0-9_-]$/),
  fc.stringMatching(/^[A-Za-z0-9]$/),
  fc.constantFrom("é", "日本", "Ünïcode", "😀", "naïve café"),
);
const pathArb = fc
  .array(
    segmentArb.filter((s) => !RESERVED.test(s.split(".")[0] ?? "")),
    { minLength: 1, maxLength: 3 },
  )
  .map((s) => s.join("/"));
const foldKey = (p: string): string => p.toLowerCase().normalize("NFC");

/** Sorted, unique, collision-free paths with no file/directory conflicts. */
const pathSetArb = fc.uniqueArray(pathArb, { selector: foldKey, maxLength: 8 }).map((paths) => {
  const keys = new Set(paths.map(foldKey));
  return paths
    .filter((p) => {
      const segments = foldKey(p).split("/");
      return !segments.some((_, i) => i > 0 && keys.has(segments.slice(0, i).join("/")));
    })
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
});

const timeArb = fc
  .date({ min: new Date("2000-01-01T00:00:00Z"), max: new Date("2099-12-31T23:59:59Z"), noInvalidDate: true })
  .map((d) => d.toISOString().replace(/\.\d{3}Z$/, "Z"));

const chunkingArb = fc.constantFrom(
  DEFAULT_CHUNKING,
  { algorithm: "fastcdc-gear32-v1" as const, min: 256, avg: 1024, max: 4096 },
  { algorithm: "fastcdc-gear32-v1" as const, min: 64, avg: 128, max: 16 * 1024 * 1024 },
);

function chunkArb(packs: readonly PackRef[], maxSize: number): fc.Arbitrary<ChunkRef> {
  return fc
    .record({
      hash: hexArb,
      pack: fc.nat({ max: packs.length - 1 }),
      codec: fc.constantFrom("raw" as const, "br" as const),
      size: fc.integer({ min: 1, max: Math.min(70000, maxSize) }), // FORMAT.md §5: size <= chunking.max
      lengthFraction: fc.double({ min: 0, max: 1, noNaN: true }),
      offsetFraction: fc.double({ min: 0, max: 1, noNaN: true }),
    })
    .map(({ hash, pack, codec, size, lengthFraction, offsetFraction }) => {
      const packSize = packs[pack]!.size;
      const length = codec === "raw" ? size : 1 + Math.floor(lengthFraction * (packSize - 1));
      const offset = Math.floor(offsetFraction * (packSize - length));
      return { hash, size, pack, offset, length, codec };
    })
    .filter((c) => c.length <= packs[c.pack]!.size);
}

function deltaArb(packs: readonly PackRef[]): fc.Arbitrary<DeltaRef> {
  return fc
    .record({
      from: hexArb,
      fromSize: fc.nat({ max: 2 ** 40 }),
      hash: hexArb,
      pack: fc.nat({ max: packs.length - 1 }),
      size: fc.integer({ min: 1, max: 70000 }),
      offsetFraction: fc.double({ min: 0, max: 1, noNaN: true }),
    })
    .map(({ from, fromSize, hash, pack, size, offsetFraction }) => ({
      from,
      fromSize,
      hash,
      size,
      pack,
      offset: Math.floor(offsetFraction * (packs[pack]!.size - size)),
      length: size,
    }));
}

const manifestArb: fc.Arbitrary<Manifest> = fc
  .record({
    version: fc.stringMatching(/^[0-9A-Za-z][0-9A-Za-z.+_-]{0,20}$/),
    created: timeArb,
    previous: fc.option(
      fc.record({ hash: hexArb, size: fc.integer({ min: 1, max: 2 ** 40 }) }, { noNullPrototype: true }),
      { nil: null },
    ),
    chunking: chunkingArb,
    packs: fc.array(
      fc.record({ id: hexArb, size: fc.integer({ min: 70000, max: 2 ** 36 }) }, { noNullPrototype: true }),
      {
        minLength: 1,
        maxLength: 3,
      },
    ),
    packageNames: fc.uniqueArray(fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,10}$/), {
      minLength: 1,
      maxLength: 3,
    }),
    optional: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
    paths: pathSetArb,
  })
  .chain((base) =>
    fc
      .tuple(
        ...base.paths.map((path) =>
          fc
            .record({
              sha256: hexArb,
              executable: fc.boolean(),
              package: fc.constantFrom(...base.packageNames),
              chunks: fc.array(chunkArb(base.packs, base.chunking.max), { maxLength: 4 }),
              deltas: fc.uniqueArray(deltaArb(base.packs), { maxLength: 3, selector: (d) => d.from }),
            })
            .filter((f) => f.deltas.every((d) => d.from !== f.sha256))
            .map((f): FileEntry => ({
              path,
              size: f.chunks.reduce((sum, c) => sum + c.size, 0),
              sha256: f.sha256,
              executable: f.executable,
              package: f.package,
              chunks: f.chunks,
              // An empty list is not serialised, so it parses back as an absent field.
              ...(f.deltas.length > 0 ? { deltas: f.deltas } : {}),
            })),
        ),
      )
      .map((fileEntries): Manifest => ({
        format: 1,
        version: base.version,
        created: base.created,
        previous: base.previous,
        chunking: base.chunking,
        packs: base.packs,
        packages: Object.fromEntries(
          base.packageNames.map((name, i) => [name, { optional: base.optional[i]! }]),
        ),
        files: fileEntries,
      })),
  );

function roundTrip(bytes: Uint8Array): Manifest {
  return parseManifest(JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)));
}

describe("manifest: serialize/parse round trip", () => {
  it("parseManifest(serializeManifest(m)) equals m, and re-serialising gives the same bytes", () => {
    fc.assert(
      fc.property(manifestArb, (m) => {
        const bytes = serializeManifest(m);
        const parsed = roundTrip(bytes);
        assert.deepEqual(parsed, m);
        assert.deepEqual(serializeManifest(parsed), bytes);
      }),
      { numRuns: 150 },
    );
  });

  it("serialised bytes are canonical JSON (sorted keys, no whitespace)", () => {
    fc.assert(
      fc.property(manifestArb, (m) => {
        const text = new TextDecoder().decode(serializeManifest(m));
        assert.equal(canonicalJson(JSON.parse(text)), text);
        assert.equal(text, canonicalJson(manifestToJson(m)));
      }),
      { numRuns: 50 },
    );
  });

  it("bytes do not depend on object key insertion order", () => {
    fc.assert(
      fc.property(manifestArb, (m) => {
        const shuffled: Manifest = {
          files: m.files.map((f) => ({
            chunks: f.chunks.map((c) => ({
              codec: c.codec,
              length: c.length,
              offset: c.offset,
              pack: c.pack,
              size: c.size,
              hash: c.hash,
            })),
            package: f.package,
            executable: f.executable,
            sha256: f.sha256,
            size: f.size,
            path: f.path,
            ...(f.deltas
              ? {
                  deltas: f.deltas.map((d) => ({
                    length: d.length,
                    offset: d.offset,
                    pack: d.pack,
                    size: d.size,
                    hash: d.hash,
                    fromSize: d.fromSize,
                    from: d.from,
                  })),
                }
              : {}),
          })),
          packages: Object.fromEntries(Object.entries(m.packages).reverse()),
          packs: m.packs.map((p) => ({ size: p.size, id: p.id })),
          chunking: {
            max: m.chunking.max,
            avg: m.chunking.avg,
            min: m.chunking.min,
            algorithm: m.chunking.algorithm,
          },
          previous: m.previous === null ? null : { size: m.previous.size, hash: m.previous.hash },
          created: m.created,
          version: m.version,
          format: 1,
        };
        assert.deepEqual(serializeManifest(shuffled), serializeManifest(m));
      }),
      { numRuns: 50 },
    );
  });

  it("the fixed example serialises to pinned bytes", () => {
    const m = parseManifest(baseDoc());
    const text = new TextDecoder().decode(serializeManifest(m));
    assert.ok(
      text.startsWith('{"chunking":{"algorithm":"fastcdc-gear32-v1","avg":16384,"max":65536,"min":4096},'),
    );
    assert.ok(
      text.includes(
        `"created":"2026-11-21T22:00:00Z","files":[{"chunks":[["${H("c")}",65536,0,1024,40000,"br"],`,
      ),
    );
    assert.ok(text.endsWith(`"requires":[],"type":"ferry-release","version":"1.2.0"}`));
    assert.doesNotMatch(text, /\s/);
    assert.deepEqual(roundTrip(serializeManifest(m)), m);
  });
});
