/** Client over tree releases (docs/FORMAT.md §5.2, §7): metadata only for what changed, kept objects. */
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { rollback } from "../../src/client/ops/launch.js";
import { repair } from "../../src/client/ops/repair.js";
import { check, update } from "../../src/client/ops/update.js";
import { isFerryError } from "../../src/core/errors.js";
import { readTree, sortedEntries, tempDir } from "../helpers/helpers.js";
import { repoFixture } from "../helpers/served-repo.js";

/** A game of 12 directories of 30 small text files, plus one multi-chunk file. */
function game(version: number): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (let d = 0; d < 12; d++) {
    for (let f = 0; f < 30; f++) {
      const changed = (version >= 2 && d === 3 && f === 7) || (version >= 3 && d === 5 && f === 1);
      files.set(
        `levels/d${d}/f${f}.txt`,
        Buffer.from(`level ${d} file ${f} ${changed ? "v2" : "v1"}\n`.repeat(20)),
      );
    }
  }
  if (version >= 2) files.set("levels/d7/new.txt", Buffer.from("added in v2\n"));
  let seed = 7;
  const big = Buffer.alloc(400_000);
  for (let i = 0; i < big.length; i++) big[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
  files.set("data/big.bin", big);
  return files;
}

async function setup(t: Parameters<typeof tempDir>[0]) {
  const served = await repoFixture(t);
  const install = join(served.dir, "install");
  const publishVersion = (version: number) =>
    served.publish(game(version), {
      build: `build-v${version}`,
      version: `${version}.0.0`,
      layout: "tree",
      expiresInDays: 365,
      rootExpiresInDays: 365,
    });
  const { dir, repo } = served;
  return {
    dir,
    repo,
    install,
    options: served.options(install),
    publishVersion,
    build: (v: number) => join(dir, `build-v${v}`),
  };
}

test("tree release: install, no-change check, small update, kept objects", async (t) => {
  const s = await setup(t);
  const v1 = await s.publishVersion(1);
  assert.equal(v1.layout, "tree");
  assert.equal(v1.newMetadataObjects, v1.metadataObjects);
  const installed = await update(s.options);
  assert.deepEqual(sortedEntries(await readTree(s.install)), sortedEntries(await readTree(s.build(1))));
  const v1Kept = new Set(await readdir(join(s.install, ".ferry", "objects")));
  assert.equal(v1Kept.size, v1.metadataObjects, "every object of the installed release is kept");

  const idle = await check(s.options);
  assert.equal(idle.updateAvailable, false);
  assert.ok(idle.metadataBytes <= 2048, `no-change check fetched ${idle.metadataBytes} B of metadata`);

  const v2 = await s.publishVersion(2);
  // Only the root, levels/, levels/d3 and levels/d7 change; everything else is shared with v1.
  assert.equal(v2.newMetadataObjects, 4);
  const updated = await update(s.options);
  assert.deepEqual(sortedEntries(await readTree(s.install)), sortedEntries(await readTree(s.build(2))));
  assert.equal(updated.filesWritten, 2);
  // Pointer (+ root probe), manifest header and the 4 changed directory objects; nothing for unchanged dirs.
  assert.ok(updated.requests <= 8, `update made ${updated.requests} requests`);
  assert.ok(
    updated.metadataBytes * 4 < installed.metadataBytes,
    `update metadata ${updated.metadataBytes} B vs install metadata ${installed.metadataBytes} B`,
  );
  // The replaced release's objects stay with it for a rollback: v2's objects plus v1's that v2 replaced.
  const after = new Set(await readdir(join(s.install, ".ferry", "objects")));
  assert.equal(after.size, v1.metadataObjects + v2.newMetadataObjects);
  const v3 = await s.publishVersion(3);
  await update(s.options);
  // One previous release is kept: now v3's and v2's objects; v1's own objects are gone.
  const kept = new Set(await readdir(join(s.install, ".ferry", "objects")));
  // Each new directory object replaces one: v3's objects plus the v3.newMetadataObjects of v2 it replaced.
  assert.equal(kept.size, v3.metadataObjects + v3.newMetadataObjects);
  // Gone: exactly v1's objects that v2 replaced (v1 is no longer the previous release).
  assert.equal([...v1Kept].filter((name) => !kept.has(name)).length, v2.newMetadataObjects);
  const inRepo = new Set(await readdir(join(s.repo, "objects")));
  for (const name of kept) assert.ok(inRepo.has(name));
});

test("tree release: lost or damaged kept objects are fetched again (update and repair)", async (t) => {
  const s = await setup(t);
  await s.publishVersion(1);
  await update(s.options);
  const objects = join(s.install, ".ferry", "objects");
  const names = (await readdir(objects)).sort();
  await writeFile(join(objects, names[0]!), "damaged");
  await rm(join(objects, names[1]!));
  await writeFile(join(s.install, "levels/d2/f3.txt"), "player broke this");
  const repaired = await repair({ ...s.options });
  assert.equal(repaired.filesRepaired, 1);
  assert.deepEqual(sortedEntries(await readTree(s.install)), sortedEntries(await readTree(s.build(1))));
  assert.deepEqual((await readdir(objects)).sort(), names);
  await rm(objects, { recursive: true });
  const again = await update(s.options);
  assert.equal(again.upToDate, true);
  assert.deepEqual((await readdir(objects)).sort(), names);
});

test("tree release: a tampered object in the repository is refused before any file changes", async (t) => {
  const s = await setup(t);
  await s.publishVersion(1);
  await update(s.options);
  const v2 = await s.publishVersion(2);
  const before = await readTree(s.install);
  const kept = new Set(await readdir(join(s.install, ".ferry", "objects")));
  const fresh = (await readdir(join(s.repo, "objects"))).filter((n) => !kept.has(n));
  // The new tree objects and the metadata bundle that carries them (FORMAT.md §5.4): whichever the
  // client reads, tampered bytes are refused.
  assert.equal(fresh.length, v2.newMetadataObjects + v2.metadataBundles);
  for (const name of fresh) await writeFile(join(s.repo, "objects", name), "tampered");
  await assert.rejects(update(s.options), (e: unknown) => {
    assert.ok(isFerryError(e), String(e));
    assert.ok(e.code === "E_HASH_MISMATCH" || e.code === "E_RANGE", `${e.code}: ${e.message}`);
    return true;
  });
  assert.deepEqual(sortedEntries(await readTree(s.install)), sortedEntries(before));
});

test("tree release: rollback restores the previous tree release from kept objects, offline", async (t) => {
  const s = await setup(t);
  await s.publishVersion(1);
  await update(s.options);
  await s.publishVersion(2);
  await update(s.options);
  // The previous release's objects are kept beside the installed one's (cleanup keeps them for rollback).
  const v1Objects = new Set(await readdir(join(s.repo, "objects")));
  assert.ok((await readdir(join(s.install, ".ferry", "objects"))).length > 0);
  const rolled = await rollback({ installDir: s.install });
  assert.equal(rolled.version, "1.0.0");
  assert.deepEqual(sortedEntries(await readTree(s.install)), sortedEntries(await readTree(s.build(1))));
  for (const name of await readdir(join(s.install, ".ferry", "objects"))) assert.ok(v1Objects.has(name));
});
