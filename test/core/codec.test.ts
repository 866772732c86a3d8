/** Chunk codecs, docs/FORMAT.md §4. */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { brotliCompressSync, constants } from "node:zlib";
import fc from "fast-check";
import { isCodec } from "../../src/core/codec.js";
import { brotli, decode, encodeChunk } from "../../src/node/node-codec.js";
import { FerryError } from "../../src/core/errors.js";

function isHashMismatch(e: unknown): boolean {
  return e instanceof FerryError && e.code === "E_HASH_MISMATCH";
}

function isTooLarge(e: unknown): boolean {
  return e instanceof FerryError && e.code === "E_TOO_LARGE";
}

function textOf(size: number): Uint8Array {
  const words = ["ferry", "chunk", "pack", "manifest", "release", "channel", "pointer", "signature"];
  let s = "";
  for (let i = 0; s.length < size; i++)
    s += words[(i * 7 + (i >> 3)) % words.length] + (i % 13 === 0 ? "\n" : " ");
  return new TextEncoder().encode(s.slice(0, size));
}

describe("codec: encodeChunk", () => {
  it("falls back to raw on random (incompressible) data, returning the same bytes", () => {
    for (const size of [64, 1000, 65536]) {
      const data = randomBytes(size);
      const encoded = encodeChunk(data, 9);
      assert.equal(encoded.codec, "raw");
      assert.deepEqual(Buffer.from(encoded.bytes), data);
    }
  });

  it("stores chunks under 64 bytes raw even when compressible", () => {
    const data = new Uint8Array(63);
    const encoded = encodeChunk(data, 9);
    assert.equal(encoded.codec, "raw");
    assert.equal(encoded.bytes.length, 63);
  });

  it("uses br on text and saves at least 3 %", () => {
    const data = textOf(32768);
    const encoded = encodeChunk(data, 9);
    assert.equal(encoded.codec, "br");
    assert.ok(encoded.bytes.length <= data.length * 0.97);
    assert.deepEqual(Buffer.from(decode("br", encoded.bytes, data.length, "chunk")), Buffer.from(data));
  });

  it("decode(encodeChunk(x)) == x (property)", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 3000 }),
          fc.nat({ max: 20000 }).map(textOf),
          fc
            .tuple(fc.nat({ max: 5000 }), fc.integer({ min: 0, max: 255 }))
            .map(([n, b]) => new Uint8Array(n).fill(b)),
        ),
        fc.integer({ min: 1, max: 9 }),
        (data, quality) => {
          const encoded = encodeChunk(data, quality);
          if (encoded.codec === "raw") assert.deepEqual(encoded.bytes, data);
          else assert.ok(encoded.bytes.length <= data.length * 0.97);
          const decoded = decode(encoded.codec, encoded.bytes, data.length, "chunk");
          assert.deepEqual(Buffer.from(decoded), Buffer.from(data));
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("codec: decode caps and errors", () => {
  it("a brotli bomb (10 MB of zeros) decoded with expectedSize 1000 -> E_TOO_LARGE, not a crash", () => {
    const bomb = brotliCompressSync(Buffer.alloc(10_000_000), {
      params: { [constants.BROTLI_PARAM_QUALITY]: 5 },
    });
    assert.ok(bomb.length < 10_000, `bomb is ${bomb.length} bytes`);
    assert.throws(() => decode("br", bomb, 1000, "chunk X"), isTooLarge);
  });

  it("br output one byte longer than expected -> E_TOO_LARGE (decoding stops at the declared size)", () => {
    const data = textOf(5000);
    assert.throws(() => decode("br", brotli(data, 5), 4999, "chunk"), isTooLarge);
  });

  it("br output shorter than expected -> E_HASH_MISMATCH", () => {
    const data = textOf(5000);
    assert.throws(() => decode("br", brotli(data, 5), 5001, "chunk"), isHashMismatch);
  });

  it("corrupt or truncated br stream -> E_HASH_MISMATCH", () => {
    const compressed = Buffer.from(brotli(textOf(5000), 5));
    assert.throws(
      () => decode("br", compressed.subarray(0, compressed.length - 3), 5000, "chunk"),
      isHashMismatch,
    );
    assert.throws(() => decode("br", Buffer.from("definitely not brotli"), 5000, "chunk"), isHashMismatch);
  });

  it("raw length mismatch -> E_HASH_MISMATCH naming the object", () => {
    const data = randomBytes(100);
    assert.equal(decode("raw", data, 100, "chunk"), data);
    for (const expected of [0, 99, 101]) {
      assert.throws(
        () => decode("raw", data, expected, "chunk abc"),
        (e: unknown) => isHashMismatch(e) && (e as FerryError).message.includes("chunk abc"),
      );
    }
  });

  it("empty br output when 0 bytes are expected", () => {
    assert.equal(decode("br", brotli(new Uint8Array(0), 5), 0, "empty").length, 0);
  });
});

describe("codec: helpers", () => {
  it("isCodec accepts exactly raw and br", () => {
    assert.equal(isCodec("raw"), true);
    assert.equal(isCodec("br"), true);
    for (const v of ["gzip", "zstd", "BR", "", null, undefined, 1]) assert.equal(isCodec(v), false);
  });
});
