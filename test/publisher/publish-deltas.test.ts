/** Publisher side of binary deltas (src/publisher/deltas.ts, docs/FORMAT.md §9). */
import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { brotliDecompressSync } from "node:zlib";
import { applyDelta } from "../../src/core/delta-apply.js";
import { isFerryError } from "../../src/core/errors.js";
import { sha256 } from "../../src/node/node-crypto.js";
import { type Manifest, parseManifest } from "../../src/core/manifest.js";
import { publish, type PublishOptions } from "../../src/publisher/publish.js";
import { sampleGame, writeGame } from "../../src/testing/game-fixture.js";
import { keys, tempDir } from "../helpers/helpers.js";
import { nodeBrotli } from "../../src/node/node-codec.js";

async function publishTwo(dir: string, repo: string, options: Partial<PublishOptions> = {}) {
  const { key } = keys();
  const results = [];
  for (const v of [1, 2] as const) {
    const build = join(dir, `build-v${v}`);
    await writeGame(build, sampleGame(v));
    results.push(
      await publish({
        buildDir: build,
        repo,
        version: `${v}.0.0`,
        key,
        created: new Date(Date.UTC(2026, 5, v)),
        expiresInDays: 36500,
        ...options,
      }),
    );
  }
  return results;
}

async function manifestOf(repo: string, hash: string): Promise<Manifest> {
  const bytes = await readFile(join(repo, "manifests", hash));
  return parseManifest(JSON.parse(brotliDecompressSync(bytes).toString("utf8")));
}

test("published deltas rebuild the new file from the old one, and publishing stays deterministic", async (t) => {
  const dir = await tempDir(t);
  const [, a] = await publishTwo(dir, join(dir, "a"));
  const [, b] = await publishTwo(dir, join(dir, "b"));
  assert.equal(a!.manifestHash, b!.manifestHash);
  assert.deepEqual(
    (await readdir(join(dir, "a", "packs"))).sort(),
    (await readdir(join(dir, "b", "packs"))).sort(),
  );

  const manifest = await manifestOf(join(dir, "a"), a!.manifestHash);
  const withDeltas = manifest.files.filter((f) => f.deltas);
  assert.equal(a!.deltas, withDeltas.length);
  assert.ok(withDeltas.length > 0);
  const v1 = sampleGame(1);
  const v2 = sampleGame(2);
  for (const file of withDeltas) {
    const delta = file.deltas![0]!;
    const old = v1.get(file.path)!.data;
    assert.equal(delta.from, sha256(old));
    const pack = await readFile(join(dir, "a", "packs", `${manifest.packs[delta.pack]!.id}.pack`));
    const bytes = pack.subarray(delta.offset, delta.offset + delta.length);
    assert.equal(sha256(bytes), delta.hash);
    const chunkBytes = file.chunks.reduce((s, c) => s + c.length, 0);
    assert.ok(
      delta.length <= 0.8 * chunkBytes,
      `${file.path}: delta ${delta.length} B vs chunks ${chunkBytes} B`,
    );
    const out: Uint8Array[] = [];
    for await (const w of applyDelta(
      nodeBrotli,
      bytes,
      async (o, l) => old.subarray(o, o + l),
      { sourceSize: old.length, targetSize: file.size },
      file.path,
    ))
      out.push(w);
    assert.ok(Buffer.concat(out).equals(v2.get(file.path)!.data), `${file.path} rebuilt exactly`);
  }
});

test("deltaHistory 0 and deltaMaxFileBytes turn deltas off (entirely / for large files)", async (t) => {
  const dir = await tempDir(t);
  const [, none] = await publishTwo(dir, join(dir, "none"), { deltaHistory: 0 });
  assert.equal(none!.deltas, 0);
  const [, small] = await publishTwo(dir, join(dir, "small"), { deltaMaxFileBytes: 20_000 });
  const manifest = await manifestOf(join(dir, "small"), small!.manifestHash);
  const v1 = sampleGame(1);
  for (const f of manifest.files.filter((x) => x.deltas)) {
    assert.ok(f.size <= 20_000 && v1.get(f.path)!.data.length <= 20_000, `${f.path} is above the limit`);
  }
  assert.ok(
    !manifest.files.find((f) => f.path === "data/levels.pak")!.deltas,
    "levels.pak (1.5 MB) has none",
  );
});

test("invalid delta options are E_USAGE before anything is written", async (t) => {
  const dir = await tempDir(t);
  await writeGame(join(dir, "build"), sampleGame(1));
  const { key } = keys();
  for (const bad of [
    { deltaHistory: 9 },
    { deltaHistory: -1 },
    { deltaHistory: 1.5 },
    { deltaQuality: 12 },
  ]) {
    await assert.rejects(
      publish({ buildDir: join(dir, "build"), repo: join(dir, "repo"), version: "1.0.0", key, ...bad }),
      (e: unknown) => isFerryError(e, "E_USAGE"),
      JSON.stringify(bad),
    );
  }
});

test("a damaged earlier release fails the publish with E_HASH_MISMATCH; the channel keeps its release", async (t) => {
  const dir = await tempDir(t);
  const repo = join(dir, "repo");
  const { key } = keys();
  await writeGame(join(dir, "v1"), sampleGame(1));
  const first = await publish({ buildDir: join(dir, "v1"), repo, version: "1.0.0", key });
  const manifest = await manifestOf(repo, first.manifestHash);
  const chunk = manifest.files.find((f) => f.path === "messages/en.properties")!.chunks[0]!;
  const packPath = join(repo, "packs", `${manifest.packs[chunk.pack]!.id}.pack`);
  const pack = await readFile(packPath);
  pack[chunk.offset + 1]! ^= 0x40;
  await writeFile(packPath, pack);
  const pointer = await readFile(join(repo, "channels", "stable.json"));
  await writeGame(join(dir, "v2"), sampleGame(2));
  await assert.rejects(
    publish({ buildDir: join(dir, "v2"), repo, version: "2.0.0", key }),
    (e: unknown) => isFerryError(e, "E_HASH_MISMATCH") && e.message.includes("deltaHistory 0"),
  );
  assert.ok((await readFile(join(repo, "channels", "stable.json"))).equals(pointer));
  // The documented way out: publish without deltas.
  const second = await publish({ buildDir: join(dir, "v2"), repo, version: "2.0.0", key, deltaHistory: 0 });
  assert.equal(second.deltas, 0);
});
