/**
 * Solid blocks end to end (docs/FORMAT.md §4.1): real publishes of a build of many small similar files,
 * a loopback server, real installs and updates in both layouts. Trees must be byte-exact, blocks must
 * lower the bytes, and a damaged block must install nothing.
 */
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { brotliDecompressSync } from "node:zlib";
import { type Manifest, parseManifest } from "../../src/core/manifest.js";
import { SOLID_FEATURE } from "../../src/core/solid-block.js";
import { readTree, rejectsWith, sortedEntries } from "../helpers/helpers.js";
import { type BuildFiles, repoFixture, writeBuild } from "../helpers/served-repo.js";

/** Deterministic pseudo-random bytes (xorshift32). */
function noise(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A game of many small similar JSON objects, a few small binaries and one large file (per-chunk). */
function build(version: number): Record<string, string | Uint8Array> {
  const files: Record<string, string | Uint8Array> = {};
  for (let i = 0; i < 120; i++) {
    // v2 edits every tenth object, drops three, adds five.
    if (version === 2 && i >= 117) continue;
    const edited = version === 2 && i % 10 === 0;
    files[`objects/ride/ride-${i}/object.json`] = JSON.stringify(
      {
        id: `openrct2.ride.ride_${i}`,
        authors: ["Ferry test"],
        version: edited ? "1.1" : "1.0",
        properties: { cost: i * 17, capacity: (i % 7) + 2, colours: ["red", "blue", "green"].slice(i % 3) },
        strings: { name: { "en-GB": `Ride number ${i}`, "fr-FR": `Manège numéro ${i}` } },
      },
      null,
      2,
    );
    files[`objects/ride/ride-${i}/images/car.bin`] = noise(i + 1, 20 + (i % 5) * 10);
  }
  if (version === 2)
    for (let i = 0; i < 5; i++) files[`objects/new/new-${i}/object.json`] = `{"id": "new.${i}", "n": ${i}}`;
  // Larger than the solid limit: chunked and compressed per chunk as before.
  files["data/big.txt"] = Array.from({ length: 6000 }, (_, i) => `line ${i} of the big file\n`).join("");
  files["readme.txt"] = `Game version ${version}\n`;
  return files;
}

/** The tree a build is expected to install, as readTree lists it. */
async function expectedTree(dir: string, files: BuildFiles): Promise<[string, string][]> {
  await writeBuild(dir, files);
  return sortedEntries(await readTree(dir));
}

async function pointerManifest(repo: string): Promise<unknown> {
  const pointer = JSON.parse(await readFile(join(repo, "channels/stable.json"), "utf8")) as {
    signed: { manifest: { hash: string } };
  };
  const bytes = await readFile(join(repo, "manifests", pointer.signed.manifest.hash));
  return JSON.parse(brotliDecompressSync(bytes).toString("utf8")) as unknown;
}

const release = (version: number, layout: "inline" | "tree", solid: boolean) => ({
  version: `${version}.0.0`,
  created: new Date(Date.UTC(2026, 0, version)),
  layout,
  solid,
  deltaHistory: 0,
  expiresInDays: 36500,
  rootExpiresInDays: 36500,
});

describe("solid blocks end to end", () => {
  for (const layout of ["inline", "tree"] as const) {
    it(`${layout}: install and update are byte-exact, and blocks lower the bytes`, async (t) => {
      const solid = await repoFixture(t);
      const plain = await repoFixture(t);
      await solid.publish(build(1), release(1, layout, true));
      await plain.publish(build(1), release(1, layout, false));

      const header = (await pointerManifest(solid.repo)) as { requires: string[] };
      assert.ok(header.requires.includes(SOLID_FEATURE), `requires ${JSON.stringify(header.requires)}`);
      assert.ok(
        !((await pointerManifest(plain.repo)) as { requires: string[] }).requires.includes(SOLID_FEATURE),
      );

      const installSolid = join(solid.dir, "install");
      const installPlain = join(plain.dir, "install");
      const first = await solid.update(installSolid);
      const firstPlain = await plain.update(installPlain);
      const v1 = await expectedTree(join(solid.dir, "expect-1"), build(1));
      assert.deepEqual(sortedEntries(await readTree(installSolid)), v1);
      assert.deepEqual(sortedEntries(await readTree(installPlain)), v1);
      assert.ok(
        first.bytesDownloaded < firstPlain.bytesDownloaded * 0.8,
        `solid ${first.bytesDownloaded} B vs per-chunk ${firstPlain.bytesDownloaded} B`,
      );

      await solid.publish(build(2), release(2, layout, true));
      const second = await solid.update(installSolid);
      assert.deepEqual(
        sortedEntries(await readTree(installSolid)),
        await expectedTree(join(solid.dir, "expect-2"), build(2)),
      );
      // The update's new chunks are in new blocks: its payload is far less than the fresh install's.
      const payload = (s: { bytesDownloaded: number; metadataBytes: number }) =>
        s.bytesDownloaded - s.metadataBytes;
      assert.ok(
        payload(second) < payload(first) / 2,
        `update ${payload(second)} B vs install ${payload(first)} B`,
      );
    });
  }

  it("a fresh install of v2 over a v1 repository reads chunks from both releases' blocks", async (t) => {
    const s = await repoFixture(t);
    await s.publish(build(1), release(1, "inline", true));
    await s.publish(build(2), release(2, "inline", true));
    const manifest = parseManifest(await pointerManifest(s.repo));
    const blocks = new Set(manifest.files.flatMap((f) => f.chunks.filter((c) => c.solid).map((c) => c.pack)));
    assert.ok(manifest.files.some((f) => f.chunks.some((c) => c.solid)));
    const installDir = join(s.dir, "install");
    await s.update(installDir);
    assert.deepEqual(
      sortedEntries(await readTree(installDir)),
      await expectedTree(join(s.dir, "expect"), build(2)),
    );
    assert.ok(blocks.size >= 2, `solid chunks in ${blocks.size} pack(s)`);
  });

  it("a tampered block is refused with E_HASH_MISMATCH and nothing is installed", async (t) => {
    const s = await repoFixture(t);
    await s.publish(build(1), release(1, "inline", true));
    const manifest: Manifest = parseManifest(await pointerManifest(s.repo));
    const inBlock = manifest.files.flatMap((f) => f.chunks).find((c) => c.solid && c.codec === "br")!;
    assert.ok(inBlock, "some chunk is in a compressed block");
    const packPath = join(s.repo, "packs", `${manifest.packs[inBlock.pack]!.id}.pack`);
    const pack = await readFile(packPath);
    const at = inBlock.offset + Math.floor(inBlock.length / 2);
    pack[at] = pack[at]! ^ 0x5a;
    await writeFile(packPath, pack);
    const installDir = join(s.dir, "install");
    await rejectsWith(s.update(installDir, { maxAttempts: 1 }), "E_HASH_MISMATCH");
    const installed = (await readdir(installDir).catch(() => [])).filter((n) => n !== ".ferry");
    assert.deepEqual(installed, []);
  });
});
