/**
 * Hostile-but-signed metadata and archives (docs/SECURITY.md "Input hardening: work bounds"). Each case is
 * run alone in a child process by bounds.test.ts, which prints one JSON line: the error code (or "ok"), the
 * wall time and the peak RSS growth of the operation. Nothing here runs when the file is imported.
 */
import { nodePorts } from "../../src/node/node-ports.js";
import "../../src/register-node.js";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createDeflateRaw, deflateRawSync } from "node:zlib";
import { decodeManifestJson } from "../../src/client/remote/remote.js";
import { DEFAULT_CHUNKING } from "../../src/core/chunker.js";
import { brotli } from "../../src/node/node-codec.js";
import { canonicalBytes } from "../../src/core/canonical-json.js";
import { crc32 } from "../../src/core/crc32.js";
import { isFerryError } from "../../src/core/errors.js";
import { sha256 } from "../../src/node/node-crypto.js";
import { parseManifest } from "../../src/core/manifest.js";
import { MAX_RELEASE_FILES, PARTS_FEATURE, type StoredObject, TREE_FEATURE } from "../../src/core/tree.js";
import { diffTrees, treeObjects } from "../../src/core/tree-diff.js";
import { materializeTree } from "../../src/core/tree-read.js";
import { ZipLayer } from "../../src/mounts/zip-layer.js";
import { NodeFileSystem } from "../../src/node/node-fs.js";
import { buildZip } from "../../src/testing/zip-writer.js";
import { H, hex, memoryStore } from "../helpers/tree-fixtures.js";

export type Expected = "ok" | "E_TOO_LARGE" | "E_FORMAT" | "E_UNSAFE_PATH" | "E_HASH_MISMATCH";
export interface BoundsCase {
  readonly name: string;
  readonly expect: Expected;
  /** Builds the inputs (not measured) and returns the operation (measured). */
  readonly prepare: () => Promise<() => Promise<unknown>>;
}

const PACKS = [[H("a"), 1 << 30]];

/** Like storeJson, at a quality that builds large hostile objects quickly. */
function storeJson(value: unknown): StoredObject {
  const raw = canonicalBytes(value);
  const bytes = brotli(raw, 5);
  return { ref: { hash: sha256(bytes), size: bytes.length, codec: "br", rawSize: raw.length }, bytes };
}
const fileEntry = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  size: 10,
  sha256: H("1"),
  executable: false,
  package: "base",
  chunk: [0, 0, 10, "raw"],
  ...extra,
});
function recipeEntry(name: string, size: number, recipe: unknown) {
  const entry: Record<string, unknown> = fileEntry(name, { size, recipe });
  delete entry["chunk"];
  return entry;
}
const tree = (entries: unknown[], extra: Record<string, unknown> = {}) =>
  storeJson({ format: 1, type: "ferry-tree", packs: PACKS, entries, ...extra });

function header(root: StoredObject, files: number, bytes: number, extra: Record<string, unknown> = {}) {
  return {
    format: 1,
    type: "ferry-release",
    requires: [TREE_FEATURE, PARTS_FEATURE],
    version: "1.0.0",
    created: "2026-11-22T00:00:00Z",
    previous: null,
    chunking: DEFAULT_CHUNKING,
    packages: { base: { optional: false } },
    tree: root.ref,
    deltas: [],
    totals: { files, bytes },
    ...extra,
  };
}

/** The three ways a client reads a tree release: whole, as a diff from a small release, its object list. */
type Reader = "materialize" | "diff" | "objects";
const READERS: readonly Reader[] = ["materialize", "diff", "objects"];

function reading(reader: Reader, json: unknown, objects: StoredObject[]): () => Promise<unknown> {
  const old = tree([fileEntry("zzz")]);
  const store = memoryStore([...objects, old]);
  if (reader === "materialize") return () => materializeTree(json, "hostile release", store.load);
  if (reader === "objects") return () => treeObjects(json, "hostile release", store.load, MAX_RELEASE_FILES);
  return () =>
    diffTrees(
      { json: header(old, 1, 10), document: "installed release" },
      { json, document: "hostile release" },
      store.load,
      { maxFiles: MAX_RELEASE_FILES },
    );
}

/** Each level names the level below twice: 2^depth files from depth + 1 small objects. */
function doubling(depth: number) {
  let level = tree([fileEntry("f")]);
  const objects = [level];
  for (let i = 0; i < depth; i++) {
    level = tree([
      { name: "l", tree: level.ref },
      { name: "r", tree: level.ref },
    ]);
    objects.push(level);
  }
  return { json: header(level, 2 ** depth, 10 * 2 ** depth), objects };
}

const chunkTuples = (n: number) => Array.from({ length: n }, () => [H("c"), 10, 0, 0, 10, "raw"]);

/** One recipe of `chunks` chunks named by `files` files of one directory. */
function sharedRecipe(files: number, chunks: number) {
  const recipe = storeJson({ format: 1, type: "ferry-recipe", packs: PACKS, chunks: chunkTuples(chunks) });
  const names = Array.from({ length: files }, (_, i) => `f${String(i).padStart(7, "0")}`);
  const dir = tree(names.map((name) => recipeEntry(name, 10 * chunks, recipe.ref)));
  return { json: header(dir, files, 10 * chunks * files), objects: [recipe, dir] };
}

/** A parted recipe `depth` levels deep, each level naming the one below `fanout` times. */
function partedRecipe(fanout: number, depth: number) {
  let part = storeJson({ format: 1, type: "ferry-recipe", packs: PACKS, chunks: chunkTuples(16) });
  const objects = [part];
  for (let i = 0; i < depth; i++) {
    part = storeJson({
      format: 1,
      type: "ferry-recipe",
      parts: Array.from({ length: fanout }, () => part.ref),
    });
    objects.push(part);
  }
  const size = 160 * fanout ** depth;
  const dir = tree([recipeEntry("big", size, part.ref)]);
  objects.push(dir);
  return { json: header(dir, 1, size), objects };
}

const padding = (mib: number) => "0".repeat(mib * 1024 * 1024);

/** A legit chain `depth` directories deep (one file at the bottom). */
function deep(depth: number) {
  let level = tree([fileEntry("f")]);
  const objects = [level];
  for (let i = 0; i < depth; i++) {
    level = tree([{ name: "a", tree: level.ref }]);
    objects.push(level);
  }
  return { json: header(level, 1, 10), objects };
}

/** An inline manifest of `files` files (distinct or identical content), brotli-stored, read as the client reads it. */
function inlineManifest(files: number, pad: number, distinct: boolean) {
  const value = {
    format: 1,
    type: "ferry-release",
    requires: [],
    version: "1.0.0",
    created: "2026-11-22T00:00:00Z",
    previous: null,
    chunking: DEFAULT_CHUNKING,
    packs: [{ id: H("a"), size: 1 << 30 }],
    packages: { base: { optional: false } },
    files: Array.from({ length: files }, (_, i) => ({
      path: `f${String(i).padStart(8, "0")}`,
      size: 10,
      sha256: distinct ? hex(i) : H("1"),
      executable: false,
      package: "base",
      chunks: [[distinct ? hex(i + files) : H("c"), 10, 0, 0, 10, "raw"]],
    })),
    ...(pad > 0 ? { padding: padding(pad) } : {}),
  };
  const raw = canonicalBytes(value);
  const bytes = brotli(raw, 5);
  const ref = { hash: sha256(bytes), size: bytes.length, codec: "br" as const, rawSize: raw.length };
  return async () => {
    const json = await decodeManifestJson(nodePorts, bytes, ref, "hostile/manifest");
    return parseManifest(json, "hostile manifest");
  };
}

/** Raw deflate of `mib` MiB of zeros, made block by block (the zeros are never held whole). */
async function deflatedZeros(mib: number): Promise<Uint8Array> {
  const deflater = createDeflateRaw({ level: 9 });
  const out: Buffer[] = [];
  deflater.on("data", (b: Buffer) => out.push(b));
  const done = new Promise((resolve) => deflater.on("end", resolve));
  const block = Buffer.alloc(1 << 20);
  for (let i = 0; i < mib; i++)
    if (!deflater.write(block)) await new Promise((r) => deflater.once("drain", r));
  deflater.end();
  await done;
  return Buffer.concat(out);
}

/** A one-entry zip whose entry holds `stream` (already deflated) and claims `size` bytes and `crc`. */
function zipOf(stream: Uint8Array, size: number, crc: number): Uint8Array {
  const zip = buildZip([{ name: "bomb.bin", data: stream, method: 0 }]);
  const v = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const central = zip.length - 22 - (46 + "bomb.bin".length);
  for (const [at, methodAt, crcAt, sizeAt] of [
    [0, 8, 14, 22],
    [central, 10, 16, 24],
  ] as const) {
    v.setUint16(at + methodAt, 8, true);
    v.setUint32(at + crcAt, crc, true);
    v.setUint32(at + sizeAt, size, true);
  }
  return zip;
}

async function zipCase(zip: Uint8Array, read: boolean): Promise<() => Promise<unknown>> {
  const path = join(tmpdir(), `ferry-bounds-${process.pid}.zip`);
  await writeFile(path, zip);
  return async () => {
    const layer = await ZipLayer.open(path, new NodeFileSystem());
    if (read) for (const name of ["bomb.bin"]) await layer.read(name);
  };
}

const BOMB_MIB = Number(process.env["FERRY_BOMB_MIB"] ?? "64");

export const CASES: readonly BoundsCase[] = [
  // Shared subtrees: 2^depth files. 2^11 files are paid for by the floor; above, refused.
  ...[11, 15, 17, 19, 21].flatMap((depth) =>
    READERS.map((reader): BoundsCase => ({
      name: `doubling subtrees, depth ${depth}, ${reader}`,
      expect: depth <= 11 || reader === "objects" ? "ok" : "E_TOO_LARGE",
      prepare: () => {
        const { json, objects } = doubling(depth);
        return Promise.resolve(reading(reader, json, objects));
      },
    })),
  ),
  // One recipe named by many files: each use builds its chunk list again.
  ...[
    [1000, 100],
    [1000, 10_000],
    [20_000, 1000],
    [100_000, 10],
  ].flatMap(([files, chunks]) =>
    (["materialize", "diff"] as const).map((reader): BoundsCase => ({
      name: `shared recipe, ${files} files x ${chunks} chunks, ${reader}`,
      expect: "E_TOO_LARGE",
      prepare: () => {
        const { json, objects } = sharedRecipe(files!, chunks!);
        return Promise.resolve(reading(reader, json, objects));
      },
    })),
  ),
  // A parted recipe whose parts all name one part: fanout^depth x 16 chunks for one file.
  ...[
    [64, 3],
    [256, 2],
    [1000, 2],
    [16, 4],
  ].flatMap(([fanout, depth]) =>
    READERS.map((reader): BoundsCase => ({
      name: `parted recipe, ${fanout} parts x ${depth} levels, ${reader}`,
      expect: reader === "objects" ? "ok" : "E_TOO_LARGE",
      prepare: () => {
        const { json, objects } = partedRecipe(fanout!, depth!);
        return Promise.resolve(reading(reader, json, objects));
      },
    })),
  ),
  // Padding fields: a few KB stored that decode to many MiB.
  ...[4, 16, 64].flatMap((mib) =>
    (["directory", "recipe", "delta index"] as const).map((where): BoundsCase => ({
      name: `padding of ${mib} MiB in a ${where}`,
      expect: "E_TOO_LARGE",
      prepare: () => {
        const pad = { padding: padding(mib) };
        if (where === "directory") {
          const dir = tree([fileEntry("a")], pad);
          return Promise.resolve(reading("materialize", header(dir, 1, 10), [dir]));
        }
        if (where === "recipe") {
          const recipe = storeJson({
            format: 1,
            type: "ferry-recipe",
            packs: PACKS,
            chunks: chunkTuples(1),
            ...pad,
          });
          const dir = tree([recipeEntry("a", 10, recipe.ref)]);
          return Promise.resolve(reading("materialize", header(dir, 1, 10), [recipe, dir]));
        }
        const index = storeJson({ format: 1, type: "ferry-deltas", packs: PACKS, entries: [], ...pad });
        const dir = tree([fileEntry("a")]);
        const json = header(dir, 1, 10, { deltas: [{ from: H("e"), index: index.ref }] });
        const store = memoryStore([dir, index]);
        return Promise.resolve(() =>
          materializeTree(json, "hostile release", store.load, { deltasFrom: H("e") }),
        );
      },
    })),
  ),
  // Inline manifests: distinct files (a real release) or identical entries, with or without padding.
  ...[
    [10_000, 0, true, "ok"],
    [10_000, 16, true, "E_TOO_LARGE"],
    [10_000, 32, true, "E_TOO_LARGE"],
    [30_000, 0, false, "E_TOO_LARGE"],
    [100_000, 0, false, "E_TOO_LARGE"],
  ].map(([files, pad, distinct, expect]): BoundsCase => ({
    name: `inline manifest, ${files} ${distinct ? "distinct" : "identical"} files, padding ${pad} MiB`,
    expect: expect as Expected,
    prepare: () => Promise.resolve(inlineManifest(files as number, pad as number, distinct as boolean)),
  })),
  // Deep trees: the path limit (1024 bytes) ends them.
  ...[
    [300, "ok"],
    [600, "E_UNSAFE_PATH"],
    [5000, "E_UNSAFE_PATH"],
  ].map(([depth, expect]): BoundsCase => ({
    name: `deep tree, ${depth} levels`,
    expect: expect as Expected,
    prepare: () => {
      const { json, objects } = deep(depth as number);
      return Promise.resolve(reading("materialize", json, objects));
    },
  })),
  // Zip archives.
  {
    name: "zip entry claiming 2 GiB (over the 1 GiB entry limit): refused at open",
    expect: "E_TOO_LARGE",
    prepare: async () => zipCase(zipOf(await deflatedZeros(BOMB_MIB), 2 ** 31, 0), false),
  },
  {
    name: "zip entry claiming 1 GiB from 64 KB (a ratio deflate cannot reach): refused at open",
    expect: "E_TOO_LARGE",
    prepare: async () => zipCase(zipOf(await deflatedZeros(BOMB_MIB), 2 ** 30, 0), false),
  },
  {
    name: `zip entry of ${BOMB_MIB} MiB from ~${BOMB_MIB} KB, declared truly: read (memory is the entry)`,
    expect: "ok",
    prepare: async () => {
      const zeros = await deflatedZeros(BOMB_MIB);
      const crc = crc32(new Uint8Array(BOMB_MIB << 20));
      return zipCase(zipOf(zeros, BOMB_MIB << 20, crc), true);
    },
  },
  {
    name: `zip bomb claiming 1000 bytes, inflating to ${BOMB_MIB} MiB: stopped at the claim`,
    expect: "E_TOO_LARGE",
    prepare: async () => zipCase(zipOf(await deflatedZeros(BOMB_MIB), 1000, 0), true),
  },
  {
    name: `zip bomb claiming 16 MiB, inflating to ${BOMB_MIB * 4} MiB: stopped at the claim`,
    expect: "E_TOO_LARGE",
    prepare: async () => zipCase(zipOf(await deflatedZeros(BOMB_MIB * 4), 16 << 20, 0), true),
  },
  {
    name: "zip entry claiming more bytes than it inflates to",
    expect: "E_FORMAT",
    prepare: async () => zipCase(zipOf(deflateRawSync(Buffer.alloc(1000, 7)), 2000, 0), true),
  },
  {
    name: "zip entry with a lying CRC-32",
    expect: "E_HASH_MISMATCH",
    prepare: async () => {
      const data = Buffer.alloc(1000, 7);
      return zipCase(zipOf(deflateRawSync(data), 1000, (crc32(data) ^ 1) >>> 0), true);
    },
  },
  {
    name: "zip entry of truncated deflate data",
    expect: "E_FORMAT",
    prepare: async () => {
      const noise = Uint8Array.from({ length: 100_000 }, (_, i) => (Math.imul(i, 2654435761) >>> 24) & 0xff);
      const stream = deflateRawSync(noise);
      return zipCase(zipOf(stream.subarray(0, stream.length >> 1), noise.length, crc32(noise)), true);
    },
  },
  {
    name: "zip entry of garbage that is not deflate",
    expect: "E_FORMAT",
    prepare: async () => zipCase(zipOf(Buffer.alloc(500, 0xff), 100, 0), true),
  },
  {
    name: "zip of 65,534 tiny entries",
    expect: "ok",
    prepare: () =>
      zipCase(
        buildZip(
          Array.from({ length: 65_534 }, (_, i) => ({ name: `e/${i}`, data: Uint8Array.of(i & 0xff) })),
        ),
        false,
      ),
  },
];

/** Runs one case (by index) and prints {code, ms, rssGrowthMiB}. */
async function main(index: number): Promise<void> {
  const c = CASES[index];
  if (!c) throw new Error(`no case ${index}`);
  const run = await c.prepare();
  globalThis.gc?.();
  const before = process.memoryUsage().rss;
  const peakBefore = process.resourceUsage().maxRSS * 1024;
  const started = performance.now();
  let code = "ok";
  try {
    await run();
  } catch (error) {
    if (!isFerryError(error)) throw error;
    code = error.code;
  }
  const ms = performance.now() - started;
  // Peak RSS is since the process started: the operation's growth is known when it raised the peak;
  // otherwise it stayed below what building the inputs needed (reported as 0).
  const peak = process.resourceUsage().maxRSS * 1024;
  const growth = peak > peakBefore ? (peak - before) / 2 ** 20 : 0;
  process.stdout.write(`${JSON.stringify({ code, ms: Math.round(ms), rssGrowthMiB: Math.round(growth) })}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] !== undefined)
  await main(Number(process.argv[2]));
