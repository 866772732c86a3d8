/** Binary deltas, docs/FORMAT.md §9: round trips, compactness on typical edits, hostile input. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { applyDelta } from "../../src/core/delta-apply.js";
import { diff, encodeDelta } from "../../src/core/delta-encode.js";
import { DELTA_WINDOW } from "../../src/core/delta-format.js";
import { FerryError } from "../../src/core/errors.js";
import { pseudoRandom } from "../../src/testing/game-fixture.js";
import { nodeBrotli } from "../../src/node/node-codec.js";

async function apply(delta: Uint8Array, source: Uint8Array, targetSize: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const read = async (offset: number, length: number) => source.subarray(offset, offset + length);
  for await (const part of applyDelta(
    nodeBrotli,
    delta,
    read,
    { sourceSize: source.length, targetSize },
    "test delta",
  )) {
    assert.ok(part.length <= DELTA_WINDOW);
    parts.push(part);
  }
  return Buffer.concat(parts);
}

async function roundTrip(source: Uint8Array, target: Uint8Array): Promise<Uint8Array> {
  const delta = encodeDelta(nodeBrotli, source, target, 5);
  assert.deepEqual(await apply(delta, source, target.length), Buffer.from(target));
  return delta;
}

const text = (s: string) => new TextEncoder().encode(s);

describe("delta: round trips", () => {
  it("insertion, deletion and substitution inside a text file", async () => {
    const lines = Array.from({ length: 2000 }, (_, i) => `key.${i}=The quick brown fox number ${i} jumps\n`);
    const source = text(lines.join(""));
    const edited = [...lines];
    edited.splice(500, 0, "key.new=A brand new translated string\n");
    edited.splice(1200, 3);
    edited[1700] = "key.1700=Changed text\n";
    const target = text(edited.join(""));
    const delta = await roundTrip(source, target);
    assert.ok(delta.length < 250, `delta of three small edits is ${delta.length} bytes`);
  });

  it("a 1-byte change and a 100-byte insert in 1 MiB of random data cost tens of bytes", async () => {
    const source = pseudoRandom("d7", 1 << 20);
    const flipped = Uint8Array.from(source);
    flipped[300_000] = flipped[300_000]! ^ 0xff;
    assert.ok((await roundTrip(source, flipped)).length < 64);
    const inserted = Buffer.concat([
      source.subarray(0, 1000),
      pseudoRandom("d8", 100),
      source.subarray(1000),
    ]);
    assert.ok((await roundTrip(source, inserted)).length < 200);
  });

  it("identical, empty and unrelated inputs", async () => {
    const a = pseudoRandom("d1", 50_000);
    assert.deepEqual(diff(a, a), [{ kind: "copy", source: 0, length: a.length }]);
    await roundTrip(a, a);
    await roundTrip(new Uint8Array(0), a);
    await roundTrip(a, new Uint8Array(0));
    await roundTrip(new Uint8Array(0), new Uint8Array(0));
    await roundTrip(a, pseudoRandom("d2", 40_000));
    await roundTrip(text("short"), text("shorter"));
  });

  it("targets spanning several windows, with copies crossing window boundaries", async () => {
    const source = pseudoRandom("d3", DELTA_WINDOW * 2 + 12345);
    const target = Buffer.concat([
      source.subarray(0, DELTA_WINDOW - 10),
      text("edit"),
      source.subarray(DELTA_WINDOW - 10),
    ]);
    const delta = await roundTrip(source, target);
    assert.ok(delta.length < 400, `${delta.length} bytes`);
  });

  it("apply(encode(a, b), a) == b for random edits (property)", async () => {
    const edit = fc.record({
      at: fc.nat(),
      remove: fc.nat({ max: 300 }),
      insert: fc.uint8Array({ maxLength: 300 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 5000 }),
        fc.array(edit, { maxLength: 8 }),
        fc.boolean(),
        async (base, edits, repetitive) => {
          const source = repetitive ? Uint8Array.from(base, (b) => b % 4) : base;
          let target = Buffer.from(source);
          for (const e of edits) {
            const at = target.length === 0 ? 0 : e.at % (target.length + 1);
            target = Buffer.concat([target.subarray(0, at), e.insert, target.subarray(at + e.remove)]);
          }
          await roundTrip(source, target);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("delta: hostile input is E_FORMAT, E_HASH_MISMATCH or E_TOO_LARGE, never another error", () => {
  const source = text("abcdefghijklmnopqrstuvwxyz".repeat(200));
  const target = text(
    "abcdefghijklmnopqrstuvwxyz".repeat(100) + "INSERTED" + "abcdefghijklmnopqrstuvwxyz".repeat(100),
  );
  const delta = encodeDelta(nodeBrotli, source, target);

  async function expectTyped(
    bytes: Uint8Array,
    sizes = { sourceSize: source.length, targetSize: target.length },
  ) {
    const read = async (offset: number, length: number) => source.subarray(offset, offset + length);
    try {
      let total = 0;
      for await (const part of applyDelta(nodeBrotli, bytes, read, sizes, "hostile")) total += part.length;
      return total;
    } catch (error) {
      assert.ok(error instanceof FerryError, String(error));
      assert.ok(["E_FORMAT", "E_HASH_MISMATCH", "E_TOO_LARGE"].includes(error.code), error.code);
      return -1;
    }
  }

  it("wrong magic, truncation at every length, trailing bytes, size mismatch", async () => {
    assert.equal(await expectTyped(Buffer.concat([text("XXXX"), delta.subarray(4)])), -1);
    for (let n = 0; n < delta.length; n++)
      assert.equal(await expectTyped(delta.subarray(0, n)), -1, `cut at ${n}`);
    assert.equal(await expectTyped(Buffer.concat([delta, text("x")])), -1);
    assert.equal(await expectTyped(delta, { sourceSize: source.length + 1, targetSize: target.length }), -1);
    assert.equal(await expectTyped(delta, { sourceSize: source.length, targetSize: target.length - 1 }), -1);
  });

  it("random byte corruption never yields output of another length or an untyped error (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
        async (flips) => {
          const bytes = Uint8Array.from(delta);
          for (const [at, x] of flips) bytes[at % bytes.length] = bytes[at % bytes.length]! ^ x;
          const total = await expectTyped(bytes);
          assert.ok(total === -1 || total === target.length);
        },
      ),
      { numRuns: 500 },
    );
  });
});
