/**
 * Fuzzing every parser of untrusted input (docs/SECURITY.md "Fuzzing"). FERRY_FUZZ_RUNS (default
 * 100,000) inputs in total are split over the table by weight; FERRY_FUZZ_SEED fixes the seed (default:
 * random, printed, so a failure can be replayed). Each target reports its runs, outcomes and the slowest
 * input. To add a parser, add one entry to TARGETS.
 */
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { brotliCompressSync, constants } from "node:zlib";
import fc from "fast-check";
import { decodeManifest } from "../../src/client/remote/remote.js";
import { parseState, stateToJson } from "../../src/client/install/state.js";
import { canonicalBytes, canonicalJson } from "../../src/core/canonical-json.js";
import { type Codec } from "../../src/core/codec.js";
import { brotli, decode, nodeBrotli } from "../../src/node/node-codec.js";
import { FerryError } from "../../src/core/errors.js";
import { DEFAULT_CHUNKING } from "../../src/core/chunker.js";
import { sha256 } from "../../src/node/node-crypto.js";
import { parseJson } from "../../src/core/json-reader.js";
import { signBytes } from "../../src/core/keys.js";
import { generateKeyPair, parsePrivateKey, parsePublicKey } from "../../src/node/node-keys.js";
import { type Manifest, manifestToJson, parseManifest } from "../../src/core/manifest.js";
import { materializeTree } from "../../src/core/tree-read.js";
import { buildTree, type StoredRef } from "../../src/core/tree.js";
import { boundaryOf, parseContentRange, parseMultipart } from "../../src/core/multipart.js";
import { assertSafePathSet } from "../../src/core/paths.js";
import { applyDelta } from "../../src/core/delta-apply.js";
import { encodeDelta } from "../../src/core/delta-encode.js";
import { parsePointer, signPointer, verifyPointer } from "../../src/core/pointer.js";
import { signRoot, trustShippedRoot } from "../../src/core/root.js";
import {
  bytesOrMutations,
  type FuzzReport,
  type FuzzTarget,
  fuzz,
  MAX_MS_PER_INPUT,
  mutateBytes,
  mutateJson,
} from "./fuzz-harness.js";
import { nodeCrypto } from "../../src/node/node-crypto.js";
import { nodePorts } from "../../src/node/node-ports.js";

const TOTAL_RUNS = Number(process.env.FERRY_FUZZ_RUNS ?? 100_000);
const SEED = Number(process.env.FERRY_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const URL = "https://cdn.example/game/channels/stable.json";

// Valid documents the structure-aware mutations start from.
const pair = generateKeyPair();
const key = parsePrivateKey(pair.privatePem, "fuzz.key");
const pub = parsePublicKey(pair.publicText, "fuzz.pub");
const POINTER_BODY = {
  channel: "stable",
  version: "1.2.0",
  serial: 7,
  root: 1,
  published: "2026-11-21T22:00:00Z",
  expires: "2026-12-21T22:00:00Z",
  manifest: { hash: "ab".repeat(32), size: 5120, codec: "br" as const, rawSize: 40960 },
};
const POINTER = signPointer(POINTER_BODY, [key]);
const ROOT_BYTES = signRoot(
  {
    version: 1,
    expires: "2099-01-01T00:00:00Z",
    rootKeys: [pub],
    rootThreshold: 1,
    releaseKeys: [pub],
    releaseThreshold: 1,
  },
  [key],
);
const ROOT = (await trustShippedRoot(ROOT_BYTES, "fuzz root", nodeCrypto)).body;
const ROOT_DOC = JSON.parse(new TextDecoder().decode(ROOT_BYTES)) as { signed: unknown };
/** A root whose `signed` body was mutated and then validly signed by its key. */
const resignedRoot = mutateJson(ROOT_DOC.signed).map((signed) => {
  try {
    return text(
      JSON.stringify({
        signed,
        signatures: [{ keyid: pub.keyid, sig: signBytes(key, canonicalBytes(signed)) }],
      }),
    );
  } catch {
    return text("null");
  }
});
const DELTA_SOURCE = text("level=1\nname=cave\n".repeat(300));
const DELTA_TARGET = text(
  "level=1\nname=cave\n".repeat(150) + "boss=troll\n" + "level=1\nname=cave\n".repeat(150),
);
const DELTA = encodeDelta(nodeBrotli, DELTA_SOURCE, DELTA_TARGET, 5);
const POINTER_DOC = JSON.parse(new TextDecoder().decode(POINTER)) as { signed: unknown };

const h = (s: string): string => sha256(s);
const MANIFEST: Manifest = {
  format: 1,
  version: "1.2.0",
  created: "2026-11-21T22:00:00Z",
  previous: { hash: h("prev"), size: 100 },
  chunking: DEFAULT_CHUNKING,
  packs: [
    { id: h("p0"), size: 1000 },
    { id: h("p1"), size: 70000 },
  ],
  packages: { base: { optional: false }, hd: { optional: true } },
  files: [
    {
      path: "bin/game",
      size: 150,
      sha256: h("f0"),
      executable: true,
      package: "base",
      chunks: [
        { hash: h("c0"), size: 100, pack: 0, offset: 0, length: 60, codec: "br" },
        { hash: h("c1"), size: 50, pack: 0, offset: 60, length: 50, codec: "raw" },
      ],
    },
    { path: "data/empty", size: 0, sha256: h(""), executable: false, package: "base", chunks: [] },
    {
      path: "hd/tex.pak",
      size: 65536,
      sha256: h("f2"),
      executable: false,
      package: "hd",
      chunks: [{ hash: h("c2"), size: 65536, pack: 1, offset: 10, length: 65536, codec: "raw" }],
    },
  ],
};
const MANIFEST_JSON = manifestToJson(MANIFEST);
// The same release in the tree layout; the fuzzed directory object is served as the root's bytes, as a
// hostile publisher (who can make any bytes match their own hash) would.
const TREE = buildTree(MANIFEST, nodePorts);
const TREE_OBJECTS = new Map(TREE.objects.map((o) => [o.ref.hash, o]));
const TREE_ROOT = (TREE.header as { tree: StoredRef }).tree;
const TREE_ROOT_JSON = JSON.parse(
  new TextDecoder().decode(decode("br", TREE_OBJECTS.get(TREE_ROOT.hash)!.bytes, TREE_ROOT.rawSize, "root")),
) as Parameters<typeof bytesOrMutations>[0];
const MANIFEST_RAW = canonicalBytes(MANIFEST_JSON);

const STATE_JSON = stateToJson({
  channel: "stable",
  repo: "https://cdn.example/game/",
  version: "1.2.0",
  serial: 7,
  manifest: POINTER_BODY.manifest,
  pointer: POINTER_DOC,
  root: ROOT_DOC,
  trustedKeys: [pub.keyid],
  files: { "bin/game": { size: 150, mtimeMs: 1_700_000_000_000, ino: "1234" } },
});

const BOUNDARY = "3d6b6a416f9b5";
const MULTIPART = Buffer.from(
  `\r\n--${BOUNDARY}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 0-3/100\r\n\r\nabcd\r\n` +
    `--${BOUNDARY}\r\nContent-Range: bytes 10-11/100\r\n\r\nkl\r\n--${BOUNDARY}--\r\n`,
  "latin1",
);

const CHUNK_TEXT = text("ferry chunk ".repeat(200));
const CHUNK_BR = brotli(CHUNK_TEXT, 5);

/** A pointer whose `signed` body was mutated and then validly signed: exercises the checks after the signature. */
const resignedPointer = mutateJson(POINTER_DOC.signed).map((signed) => {
  try {
    const sig = signBytes(key, canonicalBytes(signed));
    return text(JSON.stringify({ signed, signatures: [{ keyid: pub.keyid, sig }] }));
  } catch {
    // Not canonical-encodable (a float, too deep): sent unsigned, or as "null" if JSON cannot hold it.
    try {
      return text(JSON.stringify({ signed, signatures: [] }));
    } catch {
      return text("null");
    }
  }
});

const sizes = fc.oneof(
  fc.constant(CHUNK_TEXT.length),
  fc.nat({ max: 1_000_000 }),
  fc.constantFrom(0, -1, 1.5, Number.NaN, 2 ** 40, 2 ** 53, Number.MAX_SAFE_INTEGER),
);

const pathString = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme-composite", maxLength: 40 }),
  fc
    .array(
      fc.constantFrom(
        "a",
        "B",
        "..",
        ".",
        "",
        "CON",
        "ß",
        "ss",
        "e\u0301",
        "\u00e9",
        ":",
        "\\",
        "\u0000",
        "x ",
      ),
      {
        maxLength: 8,
      },
    )
    .map((s) => s.join("/")),
  fc.constantFrom("data/level 1/map.bin", "a".repeat(300), "a/".repeat(600)),
);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a table of differently typed targets
const TARGETS: FuzzTarget<any>[] = [
  {
    name: "channel pointer (verifyPointer)",
    weight: 22,
    input: fc.oneof(bytesOrMutations(POINTER_DOC), resignedPointer),
    run: async (bytes: Uint8Array) => await verifyPointer(parsePointer(bytes, URL), ROOT, nodeCrypto),
  },
  {
    name: "root metadata (trustShippedRoot)",
    weight: 10,
    input: fc.oneof(bytesOrMutations(ROOT_DOC), resignedRoot),
    run: async (bytes: Uint8Array) => await trustShippedRoot(bytes, "fuzz root", nodeCrypto),
  },
  {
    name: "binary delta (applyDelta)",
    weight: 6,
    input: fc.oneof(mutateBytes(DELTA), fc.uint8Array({ maxLength: 256 })),
    run: async (bytes: Uint8Array) => {
      const read = async (offset: number, length: number) => DELTA_SOURCE.subarray(offset, offset + length);
      const sizes = { sourceSize: DELTA_SOURCE.length, targetSize: DELTA_TARGET.length };
      for await (const part of applyDelta(nodeBrotli, bytes, read, sizes, "fuzz delta")) void part;
    },
  },
  {
    name: "release manifest (parseJson + parseManifest)",
    weight: 20,
    input: fc.oneof(
      { weight: 4, arbitrary: bytesOrMutations(MANIFEST_JSON, (v) => canonicalBytes(v)) },
      // One file renamed to a hostile path: the path rules run on an otherwise valid manifest.
      {
        weight: 1,
        arbitrary: fc.tuple(fc.nat(MANIFEST.files.length - 1), pathString).map(([i, path]) =>
          canonicalBytes(
            manifestToJson({
              ...MANIFEST,
              files: MANIFEST.files.map((f, j) => (j === i ? { ...f, path } : f)),
            }),
          ),
        ),
      },
    ),
    run: (bytes: Uint8Array) => parseManifest(parseJson("manifest", bytes)),
  },
  {
    name: "tree directory object (materializeTree)",
    weight: 10,
    input: bytesOrMutations(TREE_ROOT_JSON, (v) => canonicalBytes(v)),
    run: (bytes: Uint8Array) =>
      materializeTree(TREE.header, "fuzz tree", async (ref, what) => {
        if (ref.hash === TREE_ROOT.hash) return bytes;
        const object = TREE_OBJECTS.get(ref.hash);
        if (!object) throw new FerryError("E_HASH_MISMATCH", `no object ${ref.hash}`);
        return decode(ref.codec, object.bytes, ref.rawSize, what);
      }),
  },
  {
    name: "manifest object (decodeManifest: pin, brotli, parse)",
    weight: 4,
    input: fc
      .tuple(fc.oneof(mutateBytes(MANIFEST_RAW), fc.uint8Array({ maxLength: 256 })), sizes, fc.boolean())
      .map(([raw, size, compress]) => {
        const stored = compress
          ? brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 1 } })
          : Buffer.from(raw);
        return { stored, rawSize: size === CHUNK_TEXT.length ? raw.length : size };
      }),
    run: ({ stored, rawSize }: { stored: Uint8Array; rawSize: number }) =>
      decodeManifest(
        nodePorts,
        stored,
        { hash: sha256(stored), size: stored.length, codec: "br", rawSize },
        "manifests/x",
      ),
  },
  {
    name: "codec decode (brotli/raw with declared size)",
    weight: 10,
    input: fc.tuple(
      fc.oneof(mutateBytes(CHUNK_BR), fc.uint8Array({ maxLength: 512 }), fc.constant(CHUNK_BR)),
      fc.constantFrom<Codec>("br", "raw"),
      sizes,
    ),
    run: ([bytes, codec, size]: [Uint8Array, Codec, number]) => decode(codec, bytes, size, "chunk"),
  },
  {
    name: "multipart/byteranges body (boundaryOf + parseMultipart)",
    weight: 10,
    input: fc.tuple(
      fc.oneof(mutateBytes(MULTIPART), fc.uint8Array({ maxLength: 512 })),
      fc.oneof(
        fc.constant(`multipart/byteranges; boundary=${BOUNDARY}`),
        fc.string({ maxLength: 60 }),
        fc.string({ maxLength: 20 }).map((b) => `multipart/byteranges; boundary="${b}"`),
      ),
    ),
    run: ([body, contentType]: [Uint8Array, string]) => {
      const boundary = boundaryOf(contentType);
      return boundary === undefined ? undefined : parseMultipart(body, boundary, "u");
    },
  },
  {
    name: "Content-Range header (parseContentRange)",
    weight: 4,
    throws: false,
    input: fc.oneof(
      fc.string({ maxLength: 60 }),
      mutateBytes(text("bytes 0-99/1000")).map((b) => Buffer.from(b).toString("latin1")),
      fc
        .tuple(fc.bigInt({ min: 0n, max: 10n ** 30n }), fc.bigInt({ min: 0n, max: 10n ** 30n }))
        .map(([a, b]) => `bytes ${a}-${b}/*`),
    ),
    run: (value: string) => parseContentRange(value),
  },
  {
    name: "JSON bytes (parseJson + canonicalJson)",
    weight: 10,
    input: fc.oneof(
      fc.uint8Array({ maxLength: 256 }),
      bytesOrMutations(POINTER_DOC),
      fc.jsonValue({ maxDepth: 6 }).map((v) => text(JSON.stringify(v))),
    ),
    run: (bytes: Uint8Array) => canonicalJson(parseJson("doc", bytes)),
  },
  {
    name: "paths (assertSafePathSet)",
    weight: 14,
    input: fc.array(pathString, { minLength: 1, maxLength: 6 }),
    run: (paths: string[]) => assertSafePathSet(paths, "fuzz"),
  },
  {
    name: "install state (parseJson + parseState)",
    weight: 6,
    input: bytesOrMutations(STATE_JSON),
    run: (bytes: Uint8Array) => parseState(parseJson("state", bytes), "state"),
  },
];

describe(`fuzz: ${TOTAL_RUNS} inputs over ${TARGETS.length} parsers (seed ${SEED})`, async () => {
  const weights = TARGETS.reduce((sum, t) => sum + t.weight, 0);
  const reports: FuzzReport[] = [];
  for (const [index, target] of TARGETS.entries()) {
    const runs = Math.max(1, Math.round((TOTAL_RUNS * target.weight) / weights));
    it(`${target.name}: ${runs} inputs, only FerryError or success, each < ${MAX_MS_PER_INPUT} ms`, async (t) => {
      const report = await fuzz(target, runs, SEED + index);
      reports.push(report);
      t.diagnostic(
        `${report.name}: ${report.runs} inputs, ${report.ok} accepted, errors ${JSON.stringify(report.codes)}, ` +
          `max ${report.maxMs.toFixed(1)} ms, total ${(report.totalMs / 1000).toFixed(1)} s`,
      );
      // The inputs reach both sides: some are accepted, and (for throwing parsers) some are rejected.
      assert.ok(report.ok > 0, "some inputs were accepted");
      if (target.throws !== false) assert.ok(report.ok < report.runs, "some inputs were rejected");
    });
  }
  it("summary", async (t) => {
    const total = reports.reduce((sum, r) => sum + r.runs, 0);
    const maxMs = Math.max(...reports.map((r) => r.maxMs));
    t.diagnostic(`fuzz total: ${total} inputs, slowest input ${maxMs.toFixed(1)} ms (seed ${SEED})`);
    assert.equal(reports.length, TARGETS.length);
    assert.ok(total >= TOTAL_RUNS * 0.99, `${total} inputs`);
  });
});
