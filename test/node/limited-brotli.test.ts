import assert from "node:assert/strict";
import { test } from "node:test";
import { limitedBrotli, nodeBrotli } from "../../src/node/node-codec.js";
import type { PublisherBrotli } from "../../src/ports/codec.js";

test("limitedBrotli runs at most `concurrency` encodes at once and finishes every one", async () => {
  let running = 0;
  let peak = 0;
  const slow: PublisherBrotli = {
    ...nodeBrotli,
    async compressAsync(data, options) {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 2));
      running--;
      return nodeBrotli.compressAsync(data, options);
    },
  };
  const limited = limitedBrotli(slow, 2);
  const inputs = Array.from({ length: 20 }, (_, i) => new TextEncoder().encode(`chunk ${i} `.repeat(50)));
  const outputs = await Promise.all(
    inputs.map((d) => limited.compressAsync(d, { quality: 5, windowBits: 16, sizeHint: d.length })),
  );
  assert.equal(peak, 2);
  outputs.forEach((out, i) =>
    assert.deepEqual(new Uint8Array(nodeBrotli.decompress(out, inputs[i]!.length)!), inputs[i]),
  );
});

test("a failing encode frees its slot", async () => {
  let calls = 0;
  const failing: PublisherBrotli = {
    ...nodeBrotli,
    compressAsync: async () => {
      calls++;
      throw new Error("encoder failed");
    },
  };
  const limited = limitedBrotli(failing, 1);
  const options = { quality: 1, windowBits: 10, sizeHint: 1 };
  const results = await Promise.allSettled(
    [1, 2, 3].map(() => limited.compressAsync(new Uint8Array(1), options)),
  );
  assert.deepEqual(
    results.map((r) => r.status),
    ["rejected", "rejected", "rejected"],
  );
  assert.equal(calls, 3);
});
