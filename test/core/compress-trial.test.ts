import assert from "node:assert/strict";
import { test } from "node:test";
import { deflateRawSync } from "node:zlib";
import fc from "fast-check";
import { encodeChunkMeasured, TRIAL_WHOLE, trialSample } from "../../src/core/compress-trial.js";
import { nodeBrotli } from "../../src/node/node-codec.js";
import { pseudoRandom } from "../../src/testing/game-fixture.js";
import type { BrotliEncodeOptions, PublisherBrotli } from "../../src/ports/codec.js";

/** nodeBrotli, recording the quality of every async encode. */
function counting(): { port: PublisherBrotli; qualities: number[] } {
  const qualities: number[] = [];
  const port: PublisherBrotli = {
    ...nodeBrotli,
    compressAsync: (data: Uint8Array, options: BrotliEncodeOptions) => {
      qualities.push(options.quality);
      return nodeBrotli.compressAsync(data, options);
    },
  };
  return { port, qualities };
}

const text = (n: number): Uint8Array =>
  new TextEncoder().encode(
    Array.from({ length: n }, (_, i) => `"sprite_${i % 97}": { "x": ${i * 7}, "y": ${i % 13} },\n`).join(""),
  );

test("incompressible chunks are stored raw without the real (quality 8) encode", async () => {
  for (const size of [100, 4096, TRIAL_WHOLE, 64 * 1024]) {
    const { port, qualities } = counting();
    const data = pseudoRandom(`trial-${size}`, size);
    const out = await encodeChunkMeasured(port, data, 8);
    assert.equal(out.codec, "raw");
    assert.equal(out.bytes, data);
    assert.deepEqual(qualities, [1], `size ${size}: only the quality-1 trial ran`);
  }
});

test("compressible chunks are encoded at the asked quality, whatever file they come from", async () => {
  const { port, qualities } = counting();
  const data = text(800);
  const out = await encodeChunkMeasured(port, data, 8);
  assert.equal(out.codec, "br");
  assert.ok(out.bytes.length < data.length * 0.5);
  assert.deepEqual(qualities, [1, 8]);
  assert.deepEqual(new Uint8Array(nodeBrotli.decompress(out.bytes, data.length)!), data);
});

test("already-deflated data that brotli still shrinks by 3 % is kept compressed (no extension list)", async () => {
  // A PNG's IDAT is deflate: level-1 deflate of repetitive rows leaves redundancy that brotli removes.
  const rows = Buffer.concat(Array.from({ length: 400 }, (_, i) => Buffer.alloc(200, i % 3)));
  const deflated = deflateRawSync(rows, { level: 1 });
  const data = Buffer.concat([deflated, deflated, deflated]);
  const out = await encodeChunkMeasured(nodeBrotli, data, 8);
  assert.equal(out.codec, "br");
  assert.ok(out.bytes.length <= data.length * 0.97);
});

test("chunks under 64 bytes are never tried", async () => {
  const { port, qualities } = counting();
  const out = await encodeChunkMeasured(port, new Uint8Array(63), 8);
  assert.equal(out.codec, "raw");
  assert.deepEqual(qualities, []);
});

test("the trial sample is the whole chunk up to TRIAL_WHOLE, else slices that include both ends", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 200_000 }), (size) => {
      const data = new Uint8Array(size);
      for (let i = 0; i < size; i++) data[i] = (i * 31 + (i >> 8)) & 0xff;
      const sample = trialSample(data);
      if (size <= TRIAL_WHOLE) return sample === data;
      const slice = sample.length / 4;
      return (
        sample.length === 16 * 1024 &&
        Buffer.from(sample.subarray(0, slice)).equals(Buffer.from(data.subarray(0, slice))) &&
        Buffer.from(sample.subarray(sample.length - slice)).equals(Buffer.from(data.subarray(size - slice)))
      );
    }),
    { numRuns: 200 },
  );
});
