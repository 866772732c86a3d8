import assert from "node:assert/strict";
import { mkdir, readdir, readFile, rm, utimes, writeFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { brotliDecompressSync } from "node:zlib";
import { parseManifest, type Manifest } from "../../src/core/manifest.js";
import { publish } from "../../src/publisher/publish.js";
import { RACY_MS, StatCache } from "../../src/publisher/stat-cache.js";
import { DEFAULT_CHUNKING } from "../../src/core/chunker.js";
import { nodePorts } from "../../src/node/node-ports.js";
import type { BrotliEncodeOptions } from "../../src/ports/codec.js";
import { pseudoRandom } from "../../src/testing/game-fixture.js";
import { keys, tempDir } from "../helpers/helpers.js";

const created = new Date(Date.UTC(2026, 11, 1));

async function writeBuild(dir: string): Promise<void> {
  await mkdir(join(dir, "data"), { recursive: true });
  for (let i = 0; i < 12; i++) {
    const text = `{"object": ${i}, "name": "ride-${i}", "colours": [${"1, 2, 3, ".repeat(40 + i)}0]}\n`;
    await writeFile(join(dir, "data", `o${i}.json`), text.repeat(20));
  }
  await writeFile(join(dir, "big.bin"), pseudoRandom("big", 300_000));
  // Compressible content in a .png: chosen by measurement, not by the extension.
  await writeFile(join(dir, "sprite.png"), Buffer.alloc(20_000, "ab"));
}

async function manifestOf(repo: string, hash: string): Promise<Manifest> {
  const bytes = brotliDecompressSync(await readFile(join(repo, "manifests", hash)));
  return parseManifest(JSON.parse(bytes.toString("utf8")));
}

const files = (m: Manifest) =>
  m.files.map((f) => ({ path: f.path, sha256: f.sha256, chunks: f.chunks.map((c) => [c.hash, c.size]) }));

test("a republish takes unchanged files from the stat cache and reads changed ones; the release is the same", async (t) => {
  const dir = await tempDir(t);
  const build = join(dir, "build");
  await writeBuild(build);
  const edited = join(build, "data", "o3.json");
  const stamp = new Date(Date.UTC(2026, 0, 1)); // whole seconds: utimes can set exactly this again
  await utimes(edited, stamp, stamp);
  await sleep(RACY_MS + 200); // files stamped this close to a publish are not cached (racy)
  const { key } = keys();
  const common = { buildDir: build, key, created, expiresInDays: 36500, deltaHistory: 0 };
  const cacheDir = join(dir, "cache");
  const first = await publish({ ...common, repo: join(dir, "repo"), version: "1.0.0", cacheDir });
  assert.equal(first.cachedFiles, 0);
  const png = (await manifestOf(join(dir, "repo"), first.manifestHash)).files.find(
    (f) => f.path === "sprite.png",
  );
  assert.equal(png?.chunks[0]?.codec, "br");

  // Same size, same mtime, other content: only the ctime tells, and the cache must not be trusted.
  const data = await readFile(edited);
  data[10] = data[10] === 0x41 ? 0x42 : 0x41;
  await writeFile(edited, data);
  await utimes(edited, stamp, stamp);
  assert.equal((await stat(edited, { bigint: true })).mtimeNs, BigInt(stamp.getTime()) * 1_000_000n);
  await writeFile(join(build, "data", "added.json"), '{"new": true}\n');

  const again = await publish({ ...common, repo: join(dir, "repo"), version: "1.0.1", cacheDir });
  assert.equal(again.cachedFiles, 13, "every file but the edited and the added one");
  const fresh = await publish({ ...common, repo: join(dir, "other"), version: "1.0.1", cacheDir: false });
  assert.deepEqual(
    files(await manifestOf(join(dir, "repo"), again.manifestHash)),
    files(await manifestOf(join(dir, "other"), fresh.manifestHash)),
  );
});

test("a damaged cache, or one whose chunks the repository no longer has, is read as empty", async (t) => {
  const dir = await tempDir(t);
  const build = join(dir, "build");
  await writeBuild(build);
  await sleep(RACY_MS + 200);
  const { key } = keys();
  const cacheDir = join(dir, "cache");
  const repo = join(dir, "repo");
  const common = { buildDir: build, repo, key, created, expiresInDays: 36500, deltaHistory: 0, cacheDir };
  await publish({ ...common, version: "1.0.0" });
  const [name] = await readdir(join(cacheDir, "publish"));
  const cacheFile = join(cacheDir, "publish", name!);
  const lines = (await readFile(cacheFile, "utf8")).split("\n");
  assert.equal(lines.length, 16, "header, 14 files, final newline");

  // A wrong hash in a line: the line and everything after it are not used.
  await writeFile(
    cacheFile,
    lines.map((l, i) => (i === 2 ? l.replace(/"[0-9a-f]{64}"/, `"${"0".repeat(64)}"`) : l)).join("\n"),
  );
  const damaged = await publish({ ...common, version: "1.0.1" });
  assert.equal(damaged.cachedFiles, 1);

  // The repository is emptied (say, restored elsewhere): no cached chunk is there, every file is read.
  await rm(repo, { recursive: true });
  const emptied = await publish({ ...common, version: "1.0.2" });
  assert.equal(emptied.cachedFiles, 0);
  assert.equal(emptied.newChunks, emptied.chunks);
});

test("metadata objects are re-encoded only when the cache has no verified output for the same bytes", async (t) => {
  const dir = await tempDir(t);
  let encodes = 0;
  const counting = {
    ...nodePorts,
    brotli: {
      ...nodePorts.brotli,
      compress: (data: Uint8Array, options: BrotliEncodeOptions) => {
        encodes++;
        return nodePorts.brotli.compress(data, options);
      },
    },
  };
  const raw = new TextEncoder().encode('{"directory": "objects", "entries": []}'.repeat(30));
  const options = { quality: 11, windowBits: 12, sizeHint: raw.length };
  const round = async (): Promise<Uint8Array> => {
    const cache = await StatCache.open(
      join(dir, "cache"),
      join(dir, "build"),
      "repo",
      DEFAULT_CHUNKING,
      true,
    );
    const out = cache.metadataPorts(counting).brotli.compress(raw, options);
    await cache.commit();
    return out;
  };
  const first = await round();
  assert.equal(encodes, 1);
  assert.deepEqual(await round(), first);
  assert.equal(encodes, 1, "reused from the cache");
  // Damage the stored output: it no longer decodes to the input, so it is encoded again.
  const [objects] = (await readdir(join(dir, "cache", "publish"))).filter((n) => n.endsWith(".objects"));
  const path = join(dir, "cache", "publish", objects!);
  const bytes = await readFile(path);
  bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0xff;
  await writeFile(path, bytes);
  const again = await round();
  assert.equal(encodes, 2);
  assert.deepEqual(new Uint8Array(nodePorts.brotli.decompress(again, raw.length)!), raw);
});
