/** Canonical JSON, docs/FORMAT.md §1: the bytes signatures cover. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import { canonicalBytes, canonicalJson } from "../../src/core/canonical-json.js";
import { FerryError } from "../../src/core/errors.js";

/**
 * `encode` must throw a FerryError E_FORMAT: fails when it returns (valid output included) or throws
 * anything else, naming what it got.
 */
function assertFormatError(encode: () => unknown, what = ""): void {
  let result: unknown;
  try {
    result = encode();
  } catch (e) {
    assert.ok(e instanceof FerryError, `${what}: expected FerryError E_FORMAT, got ${String(e)}`);
    assert.equal(e.code, "E_FORMAT", `${what}: ${e.message}`);
    return;
  }
  assert.fail(`${what}: expected E_FORMAT, but it returned ${JSON.stringify(result)}`);
}

/** Oracle: sort keys recursively (UTF-16 code unit order), then JSON.stringify. */
function sortDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortDeep);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      Object.defineProperty(out, key, {
        value: sortDeep((value as Record<string, unknown>)[key]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}

describe("canonical JSON", () => {
  it("sorts keys at every level and writes no whitespace", () => {
    const value = { b: { d: 1, c: [{ z: 1, y: [true, null], x: "s" }] }, a: false, "": 0 };
    assert.equal(canonicalJson(value), '{"":0,"a":false,"b":{"c":[{"x":"s","y":[true,null],"z":1}],"d":1}}');
  });

  it("sorts by UTF-16 code unit order (not code point order, not numeric order)", () => {
    // Integer-like keys come first in JS property order; canonical order is string order.
    const value = { "9": 1, "10": 2, z: 3, Z: 4, a: 5, é: 6, "😀": 7, "\uffff": 8, "": 9, "a\u0000": 10 };
    // U+1F600 is the surrogate pair D83D DE00, which sorts before U+FFFF in UTF-16 order.
    assert.equal(
      canonicalJson(value),
      '{"":9,"10":2,"9":1,"Z":4,"a":5,"a\\u0000":10,"z":3,"é":6,"😀":7,"\uffff":8}',
    );
  });

  it("keeps array order", () => {
    assert.equal(canonicalJson([3, 1, 2, "b", "a"]), '[3,1,2,"b","a"]');
    assert.equal(canonicalJson([]), "[]");
    assert.equal(canonicalJson({}), "{}");
  });

  it("encodes scalars like JSON.stringify", () => {
    assert.equal(canonicalJson(null), "null");
    assert.equal(canonicalJson(true), "true");
    assert.equal(canonicalJson(false), "false");
    assert.equal(canonicalJson(0), "0");
    assert.equal(canonicalJson(123456789), "123456789");
    assert.equal(canonicalJson(Number.MAX_SAFE_INTEGER), "9007199254740991");
    assert.equal(canonicalJson(""), '""');
  });

  it("escapes strings exactly as JSON.stringify (fixed cases)", () => {
    for (const s of [
      '"quoted"',
      "back\\slash",
      "\b\f\n\r\t",
      "\u0000\u0001\u001f\u007f",
      "\u2028\u2029",
      "</script>",
      "é日😀",
      "\ud800",
      "\udfff",
      "a\ud83dz",
    ]) {
      assert.equal(canonicalJson(s), JSON.stringify(s), JSON.stringify(s));
      assert.equal(canonicalJson({ [s]: s }), `{${JSON.stringify(s)}:${JSON.stringify(s)}}`);
    }
  });

  it("escapes strings exactly as JSON.stringify (property, incl. lone surrogates)", () => {
    const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n));
    const str = fc.oneof(fc.string({ unit: "binary" }), fc.string({ unit: anyUnit }));
    fc.assert(
      fc.property(str, (s) => {
        assert.equal(canonicalJson(s), JSON.stringify(s));
      }),
      { numRuns: 300 },
    );
  });

  it("rejects non-integers, non-finite and unsafe numbers with E_FORMAT", () => {
    for (const n of [
      1.5,
      -0.25,
      1e-7,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      2 ** 53,
      -(2 ** 53),
      1e300,
    ]) {
      assertFormatError(() => canonicalJson(n), String(n));
      assertFormatError(() => canonicalJson({ a: [n] }), String(n));
    }
  });

  it("documents the behaviour for -0 and negative integers", () => {
    // -0 is a safe integer; it is written as "0" (as JSON.stringify does).
    assert.equal(canonicalJson(-0), "0");
    // Negative safe integers are encoded (FORMAT.md documents only 0..2^53-1 as Ferry integers;
    // documents that need non-negative values check that when parsing).
    assert.equal(canonicalJson(-1), "-1");
  });

  it("undefined: omitted as an object value, rejected (E_FORMAT) in an array or at top level", () => {
    // Like JSON.stringify, an undefined property is dropped...
    assert.equal(canonicalJson({ a: 1, b: undefined }), '{"a":1}');
    // ...but unlike JSON.stringify (which writes null), undefined in an array is an error.
    assert.equal(JSON.stringify([1, undefined]), "[1,null]");
    assertFormatError(() => canonicalJson([1, undefined]));
    assertFormatError(() => canonicalJson(undefined));
  });

  it("never emits invalid JSON for sparse arrays (a hole is like undefined: E_FORMAT)", () => {
    // Regression: Array.prototype.map skipped holes, so canonicalJson([, 1]) returned "[,1]", not JSON.
    // eslint-disable-next-line no-sparse-arrays -- the hole is the point of this test
    for (const value of [[, 1], new Array(2), { x: [1, , 2] }]) {
      assertFormatError(() => canonicalJson(value), "a sparse array");
    }
  });

  it("rejects values JSON cannot represent (bigint, symbol, function) with E_FORMAT", () => {
    assertFormatError(() => canonicalJson(1n));
    assertFormatError(() => canonicalJson({ a: 1n }));
    assertFormatError(() => canonicalJson(Symbol("s")));
    assertFormatError(() => canonicalJson([() => 1]));
  });

  it("golden bytes for a fixed pointer-like object", () => {
    const value = {
      signed: {
        type: "ferry-channel",
        format: 1,
        serial: 7,
        channel: "stable",
        manifest: { size: 5120, rawSize: 40960, hash: "ab".repeat(32), codec: "br" },
        version: "1.2.0",
        published: "2026-11-21T22:00:00Z",
        expires: "2026-12-21T22:00:00Z",
        note: 'café "ü" \n',
        flags: [true, false, null],
      },
    };
    const expected =
      '{"signed":{"channel":"stable","expires":"2026-12-21T22:00:00Z","flags":[true,false,null],"format":1,' +
      '"manifest":{"codec":"br","hash":"' +
      "ab".repeat(32) +
      '","rawSize":40960,"size":5120},"note":"café \\"ü\\" \\n","published":"2026-11-21T22:00:00Z",' +
      '"serial":7,"type":"ferry-channel","version":"1.2.0"}}';
    assert.equal(canonicalJson(value), expected);
    const bytes = canonicalBytes(value);
    assert.deepEqual(Buffer.from(bytes), Buffer.from(expected, "utf8"));
    // "é" is C3 A9 and "ü" is C3 BC in UTF-8.
    assert.ok(Buffer.from(bytes).includes(Buffer.from([0x63, 0x61, 0x66, 0xc3, 0xa9])));
    assert.equal(bytes.length, 341);
    assert.equal(
      createHash("sha256").update(bytes).digest("hex"),
      "2bab76ae8a05c5eb40415fad981dd59f6f4bb0113b2d61489f7874bfaaf102b6",
    );
  });
});

// ---------------------------------------------------------------------------------------------------
// Properties over JSON values without floats

const keyArb = fc.string({ unit: "binary", maxLength: 6 }).filter((k) => k !== "__proto__");
const jsonArb = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.maxSafeInteger(),
    fc.string({ unit: "binary", maxLength: 10 }),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(keyArb, tie("value"), { maxKeys: 4, noNullPrototype: true }),
  ),
})).value;

/** Same object with keys inserted in reverse order, recursively. */
function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).reverse())
      out[key] = reverseKeys((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

describe("canonical JSON: properties", () => {
  it("equals JSON.stringify of the recursively key-sorted value", () => {
    fc.assert(
      fc.property(jsonArb, (value) => {
        assert.equal(canonicalJson(value), JSON.stringify(sortDeep(value)));
      }),
      { numRuns: 300 },
    );
  });

  it("parses back to an equal value and is a fixed point of parse + canonicalise", () => {
    fc.assert(
      fc.property(jsonArb, (value) => {
        const text = canonicalJson(value);
        const parsed: unknown = JSON.parse(text);
        assert.deepEqual(parsed, value);
        assert.equal(canonicalJson(parsed), text);
      }),
      { numRuns: 300 },
    );
  });

  it("does not depend on key insertion order", () => {
    fc.assert(
      fc.property(jsonArb, (value) => {
        assert.equal(canonicalJson(reverseKeys(value)), canonicalJson(value));
      }),
      { numRuns: 300 },
    );
  });

  it("contains no insignificant whitespace", () => {
    fc.assert(
      fc.property(jsonArb, (value) => {
        // Remove string literals; what is left is structure, which must have no whitespace.
        const structure = canonicalJson(value).replace(/"(?:[^"\\]|\\.)*"/g, '""');
        assert.doesNotMatch(structure, /\s/);
      }),
      { numRuns: 200 },
    );
  });
});
