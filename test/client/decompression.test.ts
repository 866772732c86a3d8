/**
 * Decompression caps (docs/SECURITY.md "Decompression"): real bombs, generated here, decoded directly
 * and through the client, are typed errors and the process's peak RSS stays bounded.
 */
import { nodePorts } from "../../src/node/node-ports.js";
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { constants, createBrotliCompress } from "node:zlib";
import { update } from "../../src/client/ops/update.js";
import { decodeManifest } from "../../src/client/remote/remote.js";
import { MAX_DECODED_BYTES, RATIO_FLOOR } from "../../src/core/codec.js";
import { decode } from "../../src/node/node-codec.js";
import { isFerryError } from "../../src/core/errors.js";
import { sha256 } from "../../src/node/node-crypto.js";
import { forgeRelease } from "../../src/testing/release-forge.js";
import { repoFixture } from "../helpers/served-repo.js";
import { sandboxListing } from "../helpers/sandbox-hash.js";

/** Uncompressed size of the bomb; 1 GiB by default (about 800 compressed bytes, ~2 s to make). */
const BOMB_MIB = Number(process.env.FERRY_BOMB_MIB ?? 1024);
/** Peak RSS may grow by at most this much while decoding bombs (the 16 MiB floor case included). */
const RSS_BUDGET_MIB = 64;

async function makeBomb(mib: number): Promise<Buffer> {
  const compressor = createBrotliCompress({
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 4,
      [constants.BROTLI_PARAM_LGWIN]: 24,
      [constants.BROTLI_PARAM_SIZE_HINT]: mib * 1024 * 1024,
    },
  });
  const parts: Buffer[] = [];
  compressor.on("data", (d: Buffer) => parts.push(d));
  const zeros = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < mib; i++) {
    if (!compressor.write(zeros)) await new Promise((resolve) => compressor.once("drain", resolve));
  }
  await new Promise<void>((resolve) => compressor.end(resolve));
  return Buffer.concat(parts);
}

let bomb: Buffer;

const peakRssMiB = (): number => process.resourceUsage().maxRSS / 1024;

function tooLarge(e: unknown): boolean {
  assert.ok(isFerryError(e), `expected a FerryError, got ${String(e)}`);
  assert.equal(e.code, "E_TOO_LARGE", e.message);
  return true;
}

/** The limits check that runs before the decoder is the one that refused (it alone reports storedSize). */
function refusedUpFront(e: unknown): boolean {
  tooLarge(e);
  assert.equal((e as { data: { storedSize?: number } }).data.storedSize, bomb.length);
  return true;
}

describe(`decompression bombs (${BOMB_MIB} MiB of zeros)`, () => {
  let baseline = 0;
  before(async () => {
    bomb = await makeBomb(BOMB_MIB);
    baseline = peakRssMiB();
  });

  function timed(fn: () => void): number {
    const start = performance.now();
    fn();
    return performance.now() - start;
  }

  it("is a real bomb: a few KB that expand to the full size", () => {
    assert.ok(bomb.length < 4096, `${bomb.length} bytes`);
  });

  it("declared small (lying rawSize 1000): decoding stops at the cap, E_TOO_LARGE", () => {
    const ms = timed(() => assert.throws(() => decode("br", bomb, 1000, "chunk bomb"), tooLarge));
    assert.ok(ms < 1000, `${ms} ms`);
  });

  it("declared at its true size (beyond MAX_DECODED_BYTES): refused before decoding", () => {
    const size = Math.max(BOMB_MIB * 1024 * 1024, MAX_DECODED_BYTES + 1);
    assert.throws(() => decode("br", bomb, size, "manifest bomb"), refusedUpFront);
  });

  it("declared 200 MiB from a few KB (ratio far above 1024): refused before decoding", () => {
    assert.throws(() => decode("br", bomb, 200 * 1024 * 1024, "manifest"), refusedUpFront);
  });

  it("declared RATIO_FLOOR (16 MiB, the most a ratio check lets through): stops at 16 MiB", () => {
    assert.throws(() => decode("br", bomb, RATIO_FLOOR, "chunk at the floor"), tooLarge);
  });

  it(`direct decodes: peak RSS grew by less than ${RSS_BUDGET_MIB} MiB`, (t) => {
    const growth = peakRssMiB() - baseline;
    t.diagnostic(`peak RSS growth ${growth.toFixed(1)} MiB (baseline ${baseline.toFixed(0)} MiB)`);
    assert.ok(growth < RSS_BUDGET_MIB, `${growth} MiB`);
  });

  it("the client's manifest decoder, given a pin that matches the bomb: E_TOO_LARGE", async () => {
    const ref = { hash: sha256(bomb), size: bomb.length, codec: "br" as const, rawSize: 4096 };
    await assert.rejects(() => decodeManifest(nodePorts, bomb, ref, "manifests/bomb"), tooLarge);
  });

  it("a signed release whose manifest or chunk is a bomb: E_TOO_LARGE, install untouched", async (t) => {
    // A hostile repository: releases are forged into the served directory, not published.
    const { dir, repo, key, pub, server } = await repoFixture(t);
    const install = join(dir, "sandbox", "install");
    await forgeRelease({
      repo,
      key,
      serial: 1,
      version: "1",
      files: [{ path: "a.txt", data: Buffer.from("a") }],
    });
    const run = () => update({ repoUrl: server.url, installDir: install, trust: [pub], maxAttempts: 1 });
    await run();
    const before = await sandboxListing(join(dir, "sandbox"));
    let serial = 1;
    for (const rawSize of [4096, 1024 * 1024 * 1024]) {
      serial++;
      await forgeRelease({
        repo,
        key,
        serial,
        version: `${serial}`,
        files: [{ path: "a.txt", data: Buffer.from("a") }],
        manifestStored: bomb,
        manifestRawSize: rawSize,
      });
      await assert.rejects(run(), tooLarge);
      assert.deepEqual(await sandboxListing(join(dir, "sandbox")), before, `manifest rawSize ${rawSize}`);
    }
    serial++;
    await forgeRelease({
      repo,
      key,
      serial,
      version: `${serial}`,
      files: [{ path: "a.txt", data: Buffer.alloc(1000), storedBrotli: bomb }],
    });
    await assert.rejects(run(), tooLarge);
    // A refused chunk is never staged; the install's files are exactly v1.
    const after = await sandboxListing(join(dir, "sandbox"));
    assert.deepEqual(
      after.filter((l) => !l.startsWith("install/.ferry/")),
      before.filter((l) => !l.startsWith("install/.ferry/")),
    );
    assert.ok(!after.some((l) => / file /.test(l) && l.includes("staging/chunks/")), "no chunk staged");
    const growth = peakRssMiB() - baseline;
    t.diagnostic(`peak RSS growth including a server and three client runs: ${growth.toFixed(1)} MiB`);
    assert.ok(growth < 2 * RSS_BUDGET_MIB, `${growth} MiB`);
  });
});
