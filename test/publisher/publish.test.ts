import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { brotliDecompressSync } from "node:zlib";
import { isFerryError } from "../../src/core/errors.js";
import { sha256 } from "../../src/node/node-crypto.js";
import { parseManifest } from "../../src/core/manifest.js";
import { publish } from "../../src/publisher/publish.js";
import { sampleGame, writeGame } from "../../src/testing/game-fixture.js";
import { keys, tempDir } from "../helpers/helpers.js";

const created = new Date(Date.UTC(2026, 5, 1));

test("publishing is deterministic: same build, same time, fresh repositories -> identical manifest and packs", async (t) => {
  const dir = await tempDir(t);
  await writeGame(join(dir, "build"), sampleGame(2));
  const { key } = keys();
  const a = await publish({
    buildDir: join(dir, "build"),
    repo: join(dir, "a"),
    version: "2.0.0",
    key,
    created,
    expiresInDays: 36500,
  });
  const b = await publish({
    buildDir: join(dir, "build"),
    repo: join(dir, "b"),
    version: "2.0.0",
    key,
    created,
    expiresInDays: 36500,
  });
  assert.equal(a.manifestHash, b.manifestHash);
  assert.deepEqual(
    (await readdir(join(dir, "a", "packs"))).sort(),
    (await readdir(join(dir, "b", "packs"))).sort(),
  );
  const bytes = await readFile(join(dir, "a", "manifests", a.manifestHash));
  assert.equal(sha256(bytes), a.manifestHash, "the manifest is named by the hash of its stored bytes");
  const manifest = parseManifest(JSON.parse(brotliDecompressSync(bytes).toString("utf8")));
  assert.equal(manifest.files.length, sampleGame(2).size);
  assert.equal(manifest.files.find((f) => f.path === "bin/launch.sh")?.executable, true);
  assert.equal(manifest.files.find((f) => f.path === "empty.dat")?.chunks.length, 0);
  assert.ok(
    manifest.files
      .filter((f) => f.path.endsWith(".png"))
      .every((f) => f.chunks.every((c) => c.codec === "raw")),
    "PNG is never compressed",
  );
  assert.ok(
    manifest.files
      .filter((f) => f.path.endsWith(".properties"))
      .every((f) => f.chunks.every((c) => c.codec === "br")),
    "text is compressed",
  );
});

test("a new release stores only chunks the repository lacks; republishing the same build stores none", async (t) => {
  const dir = await tempDir(t);
  const { key } = keys();
  await writeGame(join(dir, "v1"), sampleGame(1));
  await writeGame(join(dir, "v2"), sampleGame(2));
  const repo = join(dir, "repo");
  const first = await publish({
    buildDir: join(dir, "v1"),
    repo,
    version: "1",
    key,
    created,
    expiresInDays: 36500,
  });
  const second = await publish({
    buildDir: join(dir, "v2"),
    repo,
    version: "2",
    key,
    created,
    expiresInDays: 36500,
  });
  assert.ok(second.newChunks < second.chunks / 3, `${second.newChunks} of ${second.chunks} chunks new`);
  assert.ok(second.storedBytes < first.storedBytes / 5);
  assert.equal(second.serial, 2);
  const again = await publish({
    buildDir: join(dir, "v2"),
    repo,
    version: "2b",
    key,
    created,
    expiresInDays: 36500,
  });
  assert.equal(again.newChunks, 0);
  assert.equal(again.newPacks, 0);
  assert.equal(again.serial, 3);
  const pointer = JSON.parse(await readFile(join(repo, "channels", "stable.json"), "utf8"));
  assert.equal(pointer.signed.version, "2b");
  assert.ok(
    (await readFile(join(repo, "channels", "stable.json"))).length < 1024,
    "the pointer stays under 1 KiB",
  );
});

test("symlinks, unsafe names and case collisions in a build are refused and nothing is published", async (t) => {
  const dir = await tempDir(t);
  const { key } = keys();
  const cases: [string, (build: string) => Promise<void>, string][] = [
    ["symlink", (b) => symlink("/etc/passwd", join(b, "passwd")), "E_SYMLINK"],
    [
      "case collision",
      async (b) => {
        await writeFile(join(b, "Hero.png"), "a");
        await writeFile(join(b, "hero.png"), "b");
      },
      "E_UNSAFE_PATH",
    ],
    ["reserved name", (b) => writeFile(join(b, "aux.txt"), "x"), "E_UNSAFE_PATH"],
    ["backslash", (b) => writeFile(join(b, "a\\b.txt"), "x"), "E_UNSAFE_PATH"],
  ];
  for (const [name, make, code] of cases) {
    const build = join(dir, name);
    await mkdir(build, { recursive: true });
    await writeFile(join(build, "ok.txt"), "fine");
    await make(build);
    const repo = join(dir, `repo-${name}`);
    await assert.rejects(
      publish({ buildDir: build, repo, version: "1", key, created, expiresInDays: 36500 }),
      (e: unknown) => isFerryError(e) && e.code === code,
    );
    assert.deepEqual(
      await readdir(join(repo, "channels")).catch(() => []),
      [],
      `${name}: no channel pointer was written`,
    );
  }
});

test("a file that cannot be published (a FIFO) fails loudly; the previous release stays served", async (t) => {
  const dir = await tempDir(t);
  const { key } = keys();
  await writeGame(join(dir, "build"), sampleGame(1));
  const repo = join(dir, "repo");
  await publish({ buildDir: join(dir, "build"), repo, version: "1", key, created, expiresInDays: 36500 });
  const before = await readFile(join(repo, "channels", "stable.json"));
  execFileSync("mkfifo", [join(dir, "build", "data", "pipe")]);
  await assert.rejects(
    publish({ buildDir: join(dir, "build"), repo, version: "2", key, created, expiresInDays: 36500 }),
    (e: unknown) => {
      assert.ok(isFerryError(e, "E_IO"));
      assert.match(e.message, /data\/pipe/);
      return true;
    },
  );
  assert.deepEqual(await readFile(join(repo, "channels", "stable.json")), before);
});
