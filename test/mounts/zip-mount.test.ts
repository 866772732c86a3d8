import "../../src/register-node.js";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { FerryError, type FerryErrorCode } from "../../src/core/errors.js";
import { ZipLayer } from "../../src/mounts/zip-layer.js";
import { NodeFileSystem } from "../../src/node/node-fs.js";
import { buildZip } from "../../src/testing/zip-writer.js";
import { tempDir } from "../helpers/helpers.js";

const fs = new NodeFileSystem();
const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

/** Written by Python's zipfile (a standard tool, not Ferry's test writer): a directory, a stored and a deflated entry. */
const PYTHON_ZIP =
  "UEsDBBQAAAAAANYcdl0AAAAAAAAAAAAAAAAEAAAAZGlyL1BLAwQUAAAAAAAAACEA6lkGbA0AAAANAAAADgAAAGRpci9zdG9yZWQudHh0c3RvcmVkIGJ5dGVzClBLAwQUAAAICAAAACEAcmKYxBAAAADCAQAAEwAAAGRpci9kZWZsYXRlZCDDvC50eHRLSU3LSSxJTVFIGWUMTQYAUEsBAhQDFAAAAAAA1hx2XQAAAAAAAAAAAAAAAAQAAAAAAAAAAAAQAP1BAAAAAGRpci9QSwECFAMUAAAAAAAAACEA6lkGbA0AAAANAAAADgAAAAAAAAAAAAAAgAEiAAAAZGlyL3N0b3JlZC50eHRQSwECFAMUAAAICAAAACEAcmKYxBAAAADCAQAAEwAAAAAAAAAAAAAAgAFbAAAAZGlyL2RlZmxhdGVkIMO8LnR4dFBLBQYAAAAAAwADAK8AAACcAAAAAAA=";

async function zipFile(dir: string, name: string, data: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, data);
  return path;
}

async function rejectsWith(
  promise: Promise<unknown>,
  code: FerryErrorCode,
  pattern?: RegExp,
): Promise<FerryError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof FerryError, `expected FerryError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (pattern) assert.match(caught.message, pattern);
  return caught;
}

test("zip mount: reads an archive written by Python's zipfile in place (stored, deflate, UTF-8 name)", async (t) => {
  const dir = await tempDir(t);
  const layer = await ZipLayer.open(await zipFile(dir, "std.zip", Buffer.from(PYTHON_ZIP, "base64")), fs);
  assert.equal(await layer.size("dir/stored.txt"), 13);
  assert.equal(text(await layer.read("dir/stored.txt")), "stored bytes\n");
  assert.equal(text(await layer.read("dir/deflated \u00fc.txt")), "deflated ".repeat(50));
  assert.equal(await layer.size("dir"), undefined, "directory entries are not files");
  assert.equal(await layer.size("dir/missing"), undefined);
});

test("zip mount: the test writer's honest archives round-trip (stored, deflate, empty, comment)", async (t) => {
  const dir = await tempDir(t);
  const big = bytes("level data ".repeat(10_000));
  const path = await zipFile(
    dir,
    "ok.zip",
    buildZip(
      [
        { name: "a/" },
        { name: "a/big.bin", data: big, method: 8 },
        { name: "a/raw.txt", data: bytes("raw") },
        { name: "empty", data: new Uint8Array(0), method: 8 },
      ],
      { comment: "made by a test" },
    ),
  );
  const layer = await ZipLayer.open(path, fs);
  assert.ok(Buffer.from(await layer.read("a/big.bin")).equals(big));
  assert.equal(text(await layer.read("a/raw.txt")), "raw");
  assert.equal((await layer.read("empty")).length, 0);
});

test("zip mount: hostile entry names are refused by the path validator, naming the rule", async (t) => {
  const dir = await tempDir(t);
  const cases: [string, string][] = [
    ["../x", "dot-segment"],
    ["a/../../x", "dot-segment"],
    ["/etc/passwd", "absolute"],
    ["a\\..\\x", "backslash"],
    ["C:/x", "drive-letter"],
    [".ferry/state.json", "reserved-ferry"],
    ["a//b", "empty-segment"],
    ["con.txt", "reserved-device-name"],
    ["../evil/", "dot-segment"],
  ];
  for (const [name, rule] of cases) {
    const path = await zipFile(
      dir,
      "bad.zip",
      buildZip([
        { name: "ok.txt", data: bytes("ok") },
        { name, data: bytes("x") },
      ]),
    );
    const error = await rejectsWith(ZipLayer.open(path, fs), "E_UNSAFE_PATH");
    assert.equal(error.data.rule, rule, name);
  }
  const invalidUtf8 = buildZip([
    { name: "x", rawName: Uint8Array.from([0x61, 0xff, 0x62]), data: bytes("x") },
  ]);
  const error = await rejectsWith(
    ZipLayer.open(await zipFile(dir, "utf8.zip", invalidUtf8), fs),
    "E_UNSAFE_PATH",
  );
  assert.equal(error.data.rule, "invalid-utf8");
});

test("zip mount: duplicate and case-colliding names are refused", async (t) => {
  const dir = await tempDir(t);
  for (const names of [
    ["a.txt", "a.txt"],
    ["A.txt", "a.txt"],
    ["a", "a/b"],
  ]) {
    const path = await zipFile(dir, "dup.zip", buildZip(names.map((name) => ({ name, data: bytes(name) }))));
    const error = await rejectsWith(ZipLayer.open(path, fs), "E_UNSAFE_PATH");
    assert.match(String(error.data.rule), /collision|file-directory-conflict/);
  }
});

test("zip mount: huge claimed sizes and impossible ratios are refused at open", async (t) => {
  const dir = await tempDir(t);
  const huge = buildZip([{ name: "x", data: bytes("tiny"), method: 8, claimedSize: 3_000_000_000 }]);
  await rejectsWith(ZipLayer.open(await zipFile(dir, "huge.zip", huge), fs), "E_TOO_LARGE", /limit/);
  const ratio = buildZip([{ name: "x", data: bytes("tiny"), method: 8, claimedSize: 50_000_000 }]);
  await rejectsWith(ZipLayer.open(await zipFile(dir, "ratio.zip", ratio), fs), "E_TOO_LARGE", /ratio/);
  const small = buildZip([{ name: "x", data: bytes("0123456789") }]);
  await rejectsWith(
    ZipLayer.open(await zipFile(dir, "limit.zip", small), fs, {
      maxEntryBytes: 5,
      maxDirectoryBytes: 1 << 20,
    }),
    "E_TOO_LARGE",
  );
  const lying = buildZip([{ name: "x", data: bytes("0123456789"), claimedCompressedSize: 1_000_000 }]);
  await rejectsWith(ZipLayer.open(await zipFile(dir, "past-end.zip", lying), fs), "E_FORMAT");
});

test("zip mount: a compression bomb is stopped at its claimed size while inflating", async (t) => {
  const dir = await tempDir(t);
  // 20 MB of zeros deflate to ~20 KB; the directory claims 1000 bytes (a ratio deflate can reach).
  const bomb = buildZip([
    { name: "ok.txt", data: bytes("fine") },
    { name: "bomb.bin", data: new Uint8Array(20_000_000), method: 8, claimedSize: 1000 },
  ]);
  const layer = await ZipLayer.open(await zipFile(dir, "bomb.zip", bomb), fs);
  assert.equal(text(await layer.read("ok.txt")), "fine");
  await rejectsWith(layer.read("bomb.bin"), "E_TOO_LARGE", /decompression bomb/);
  // Shorter than claimed is refused too.
  const short = buildZip([{ name: "s", data: bytes("abc"), method: 8, claimedSize: 10 }]);
  await rejectsWith(
    (await ZipLayer.open(await zipFile(dir, "short.zip", short), fs)).read("s"),
    "E_FORMAT",
    /holds 3 bytes/,
  );
});

test("zip mount: overlapping entries, bad CRC, lying local headers, zip64, encryption, garbage", async (t) => {
  const dir = await tempDir(t);
  const overlap = buildZip([
    { name: "a", data: bytes("aaaa") },
    { name: "b", data: bytes("aaaa"), sameOffsetAs: 0 },
  ]);
  await rejectsWith(ZipLayer.open(await zipFile(dir, "overlap.zip", overlap), fs), "E_FORMAT", /overlaps/);

  const badCrc = buildZip([{ name: "a", data: bytes("payload"), crc: 0x12345678 }]);
  const crcLayer = await ZipLayer.open(await zipFile(dir, "crc.zip", badCrc), fs);
  await rejectsWith(crcLayer.read("a"), "E_HASH_MISMATCH", /CRC-32/);

  const renamed = buildZip([{ name: "safe.txt", localName: "../x.txt", data: bytes("x") }]);
  const localLayer = await ZipLayer.open(await zipFile(dir, "local.zip", renamed), fs);
  await rejectsWith(localLayer.read("safe.txt"), "E_FORMAT", /local header/);

  const zip64 = buildZip([
    { name: "a", data: bytes("x"), claimedSize: 0xffffffff, claimedCompressedSize: 0xffffffff },
  ]);
  await rejectsWith(
    ZipLayer.open(await zipFile(dir, "zip64.zip", zip64), fs),
    "E_UNSUPPORTED_FORMAT",
    /zip64/,
  );

  const encrypted = buildZip([{ name: "a", data: bytes("x"), flags: 0x801 }]);
  await rejectsWith(
    ZipLayer.open(await zipFile(dir, "enc.zip", encrypted), fs),
    "E_UNSUPPORTED_FORMAT",
    /encryption/,
  );

  await rejectsWith(
    ZipLayer.open(await zipFile(dir, "garbage.zip", bytes("not a zip at all")), fs),
    "E_FORMAT",
  );
  await rejectsWith(ZipLayer.open(await zipFile(dir, "empty.zip", new Uint8Array(0)), fs), "E_FORMAT");
  const good = buildZip([{ name: "a", data: bytes("x") }]);
  const truncated = good.subarray(10); // directory offsets now point past the end record
  await rejectsWith(ZipLayer.open(await zipFile(dir, "cut.zip", truncated), fs), "E_FORMAT");
});

test("zip mount: entries are read by range, never the whole archive", async (t) => {
  const dir = await tempDir(t);
  const path = await zipFile(
    dir,
    "big.zip",
    buildZip([
      { name: "huge.bin", data: new Uint8Array(4_000_000).fill(7) },
      { name: "small.txt", data: bytes("small") },
    ]),
  );
  let bytesRead = 0;
  const counting = new (class extends NodeFileSystem {
    override async readRange(p: string, offset: number, length: number): Promise<Uint8Array> {
      bytesRead += length;
      return super.readRange(p, offset, length);
    }
    override readFile(): Promise<Uint8Array> {
      throw new Error("whole-file read");
    }
  })();
  const layer = await ZipLayer.open(path, counting);
  assert.equal(text(await layer.read("small.txt")), "small");
  assert.ok(bytesRead < 70_000, `read ${bytesRead} bytes of a 4 MB archive`);
});
