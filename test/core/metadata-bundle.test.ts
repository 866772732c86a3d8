/**
 * The metadata bundle object (docs/FORMAT.md §5.4): encode → parse → rebuild → restore gives exactly the
 * publisher's stored objects; hostile bundles are refused with the right code before any delta is decoded.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { decode } from "../../src/core/codec.js";
import {
  type BundleInput,
  encodeBundle,
  parseBundle,
  readBundleRefs,
  rebuildEntry,
  restoreStored,
} from "../../src/core/metadata-bundle.js";
import { storeJson } from "../../src/core/tree.js";
import { nodeBrotli } from "../../src/node/node-codec.js";
import { sha256 } from "../../src/node/node-crypto.js";
import { nodePorts } from "../../src/node/node-ports.js";
import { expectCode, expectCodeAsync } from "../helpers/helpers.js";

const hash = (i: number) => i.toString(16).padStart(64, "0");

function directory(changed: number) {
  const entries = Array.from({ length: 60 }, (_, i) => ({
    name: `file-${String(i).padStart(3, "0")}.json`,
    size: 100 + i,
    sha256: hash(i === changed ? 9999 : i),
    executable: false,
    package: "base",
    chunk: [0, i * 200, 120, "br"],
  }));
  return { format: 1, type: "ferry-tree", packs: [[hash(7), 1 << 20]], entries };
}

function input(value: unknown, base?: unknown): BundleInput {
  const object = storeJson(value, nodePorts);
  const raw = (v: { ref: { codec: "br"; rawSize: number }; bytes: Uint8Array }) =>
    decode(nodeBrotli, v.ref.codec, v.bytes, v.ref.rawSize, "test object");
  const old = base === undefined ? undefined : storeJson(base, nodePorts);
  return { ref: object.ref, raw: raw(object), ...(old ? { base: { ref: old.ref, raw: raw(old) } } : {}) };
}

const ports = { brotli: nodeBrotli, crypto: nodePorts.crypto };

test("a bundle rebuilds the exact stored objects, and a changed entry costs far less than the object", async () => {
  const changed = input(directory(17), directory(-1));
  const added = input({ format: 1, type: "ferry-recipe", packs: [], chunks: [] });
  const bytes = encodeBundle(nodeBrotli, [changed, added], sha256);
  const entries = parseBundle(bytes, "test bundle");
  assert.equal(entries.length, 2);
  for (const [i, original] of [changed, added].entries()) {
    const raw = await rebuildEntry(ports, entries[i]!, original.base?.raw, `entry ${i}`);
    assert.deepEqual(raw, Uint8Array.from(original.raw));
    const stored = await restoreStored(ports, raw, original.ref);
    assert.ok(stored, "Node's encoder reproduces the publisher's bytes");
    assert.equal(sha256(stored), original.ref.hash);
  }
  // The delta of a one-entry change against the old directory is a fraction of the stored directory.
  assert.ok(
    entries[0]!.delta.length * 4 < changed.ref.size,
    `${entries[0]!.delta.length} vs ${changed.ref.size}`,
  );
});

test("a bundle is deterministic", () => {
  const entries = [input(directory(3), directory(-1))];
  assert.deepEqual(encodeBundle(nodeBrotli, entries, sha256), encodeBundle(nodeBrotli, entries, sha256));
});

test("a rebuilt object that is not the listed content is E_HASH_MISMATCH; a base of the wrong length is E_FORMAT", async () => {
  const entry = input(directory(5), directory(-1));
  const [parsed] = parseBundle(encodeBundle(nodeBrotli, [entry], sha256), "test bundle");
  const otherBase = input(directory(40)).raw; // same length, other bytes
  assert.equal(otherBase.length, entry.base!.raw.length);
  await expectCodeAsync(() => rebuildEntry(ports, parsed!, otherBase, "entry"), "E_HASH_MISMATCH");
  await expectCodeAsync(() => rebuildEntry(ports, parsed!, otherBase.subarray(1), "entry"), "E_FORMAT");
  await expectCodeAsync(() => rebuildEntry(ports, parsed!, undefined, "entry"), "E_FORMAT");
});

test("restoreStored refuses bytes that do not hash to the ref (another encoder): the caller downloads instead", async () => {
  const entry = input(directory(5));
  const wrong = { ...entry.ref, hash: hash(1) };
  assert.equal(await restoreStored(ports, entry.raw, wrong), undefined);
});

test("malformed bundles are E_FORMAT: magic, truncation, trailing bytes, a repeated object, a bad base flag", () => {
  const one = input(directory(5), directory(-1));
  const bytes = encodeBundle(nodeBrotli, [one], sha256);
  const bad = Uint8Array.from(bytes);
  bad[0] = 0x58;
  expectCode(() => parseBundle(bad, "b"), "E_FORMAT");
  expectCode(() => parseBundle(bytes.subarray(0, bytes.length - 1), "b"), "E_FORMAT");
  expectCode(() => parseBundle(Uint8Array.from([...bytes, 0]), "b"), "E_FORMAT");
  expectCode(() => parseBundle(encodeBundle(nodeBrotli, [one, one], sha256), "b"), "E_FORMAT");
  const flag = Uint8Array.from(bytes);
  const at = 4 + 1 + 32 + varintLength(one.ref.size) + varintLength(one.ref.rawSize) + 32;
  assert.equal(flag[at], 1);
  flag[at] = 2;
  expectCode(() => parseBundle(flag, "b"), "E_FORMAT");
});

test("oversize claims are E_TOO_LARGE before any delta is decoded: one object's ratio, and the bundle's total", () => {
  const entry = input(directory(5));
  const huge = { ...entry, ref: { ...entry.ref, rawSize: 64 * entry.ref.size + (1 << 20) + 1 } };
  expectCode(() => parseBundle(encodeBundle(nodeBrotli, [huge], sha256), "b"), "E_TOO_LARGE");
  // Twenty entries within their own ratio (1 MiB from a 1-byte ref) but 20 MiB in all from ~2 KB.
  const many = Array.from({ length: 20 }, (_, i) => ({
    ref: { hash: hash(i + 1), size: 1, codec: "br" as const, rawSize: 1 << 20 },
    raw: new Uint8Array(0),
  }));
  const err = expectCode(() => parseBundle(encodeBundle(nodeBrotli, many, sha256), "b"), "E_TOO_LARGE");
  assert.match(err.message, /would decode/);
});

test("the header's bundle list: absent is none; a repeated source or a bad hash is E_FORMAT", () => {
  assert.deepEqual(readBundleRefs({}, "h"), []);
  const b = { from: hash(1), hash: hash(2), size: 10 };
  assert.deepEqual(readBundleRefs({ bundles: [b] }, "h"), [b]);
  expectCode(() => readBundleRefs({ bundles: [b, { ...b, hash: hash(3) }] }, "h"), "E_FORMAT");
  expectCode(() => readBundleRefs({ bundles: [{ ...b, hash: "xyz" }] }, "h"), "E_FORMAT");
  expectCode(() => readBundleRefs({ bundles: [{ ...b, size: 65 * 1024 * 1024 }] }, "h"), "E_FORMAT");
});

function varintLength(n: number): number {
  let length = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    length++;
  }
  return length;
}
