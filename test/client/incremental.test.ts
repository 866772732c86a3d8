/**
 * Incremental updates of tree releases (src/client/plan/incremental.ts): only the subtrees whose directory
 * objects changed are read and verified, and the install still ends as exactly the new release.
 */
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { rollback } from "../../src/client/ops/launch.js";
import { repair } from "../../src/client/ops/repair.js";
import { check, update } from "../../src/client/ops/update.js";
import { readTree, sortedEntries, tempDir } from "../helpers/helpers.js";
import { repoFixture } from "../helpers/served-repo.js";

type Build = Map<string, { data: string; executable?: boolean }>;

function v1(): Build {
  const files: Build = new Map();
  for (let d = 0; d < 6; d++)
    for (let f = 0; f < 8; f++) files.set(`levels/d${d}/f${f}.txt`, { data: `level ${d} ${f}\n`.repeat(30) });
  files.set("gone/a.txt", { data: "a directory v2 removes\n" });
  files.set("gone/sub/b.txt", { data: "with a subdirectory\n" });
  files.set("shape", { data: "a file that becomes a directory\n" });
  files.set("bin/run", { data: "#!/bin/sh\necho v1\n", executable: false });
  return files;
}

/** One edit, one addition, one deletion, a removed and an added directory, a file->directory, an exec bit. */
function v2(): Build {
  const files = v1();
  files.set("levels/d3/f7.txt", { data: "edited in v2\n".repeat(40) });
  files.set("levels/d1/new.txt", { data: "added in v2\n" });
  files.delete("levels/d4/f0.txt");
  files.delete("gone/a.txt");
  files.delete("gone/sub/b.txt");
  files.set("fresh/x/y.txt", { data: "a new directory\n" });
  files.delete("shape");
  files.set("shape/inner.txt", { data: "now a directory\n" });
  files.set("bin/run", { data: "#!/bin/sh\necho v1\n", executable: true });
  return files;
}

async function setup(t: Parameters<typeof tempDir>[0]) {
  const served = await repoFixture(t);
  const publishBuild = async (version: string, files: Build) =>
    (await served.publish(files, { build: `build-${version}`, version, layout: "tree", deltaHistory: 0 }))
      .build;
  const install = join(served.dir, "install");
  return { install, publishBuild, options: served.options(install) };
}

test("incremental update: exactly the new tree, only the changed files looked at", async (t) => {
  const s = await setup(t);
  const b1 = await s.publishBuild("1.0.0", v1());
  await update(s.options);
  assert.deepEqual(sortedEntries(await readTree(s.install)), sortedEntries(await readTree(b1)));

  const b2 = await s.publishBuild("2.0.0", v2());
  const checked = await check({ ...s.options, verify: "changed" });
  assert.equal(checked.updateAvailable, true);
  // Written: the edit, the addition, the new directory's file, the file->directory and the exec bit.
  assert.equal(checked.filesToWrite, 5);
  assert.equal(checked.filesToDelete, 4); // d4/f0, gone/a, gone/sub/b and the file "shape"
  const summary = await update({ ...s.options, verify: "changed" });
  assert.deepEqual(sortedEntries(await readTree(s.install)), sortedEntries(await readTree(b2)));
  assert.equal(summary.filesWritten, 5);
  assert.equal(summary.filesKept, v2().size - 5);
  assert.equal(summary.bytesHashed, 0, "no installed file was re-hashed (all stat-cache hits or untouched)");

  // The same release again: nothing read but the pointer.
  const idle = await check({ ...s.options, verify: "changed" });
  assert.equal(idle.updateAvailable, false);
  assert.ok(idle.metadataBytes <= 2048, `${idle.metadataBytes} B`);
  const again = await update({ ...s.options, verify: "changed" });
  assert.equal(again.upToDate, true);
  assert.equal(again.filesKept, v2().size);

  // The previous release kept by the incremental commit rolls back exactly.
  await rollback({ installDir: s.install });
  assert.deepEqual(sortedEntries(await readTree(s.install)), sortedEntries(await readTree(b1)));
});

test("incremental update leaves damage outside the change to repair; verify all restores it", async (t) => {
  const s = await setup(t);
  await s.publishBuild("1.0.0", v1());
  await update(s.options);
  const untouched = join(s.install, "levels/d0/f0.txt");
  await writeFile(untouched, "damaged by a player\n");
  const b2 = await s.publishBuild("2.0.0", v2());
  await update({ ...s.options, verify: "changed" });
  const after = await readTree(s.install);
  assert.equal(await readFile(untouched, "utf8"), "damaged by a player\n", "not looked at");
  assert.equal(after.get("levels/d3/f7.txt"), (await readTree(b2)).get("levels/d3/f7.txt"));
  const full = await update({ ...s.options, verify: "all" });
  assert.equal(full.filesWritten, 1);
  assert.deepEqual(sortedEntries(await readTree(s.install)), sortedEntries(await readTree(b2)));
});

test("a 12,000-file install keeps its stat cache in a file through update, rollback and repair", async (t) => {
  const s = await setup(t);
  const many = (version: number): Build => {
    const files: Build = new Map();
    for (let i = 0; i < 12_000; i++) {
      const edited = version >= 2 && i % 3000 === 5;
      files.set(`d${i % 40}/e${Math.floor(i / 40) % 10}/f${i}.txt`, {
        data: `${i} ${edited ? "v2" : "v1"}\n`,
      });
    }
    return files;
  };
  const b1 = await s.publishBuild("1.0.0", many(1));
  await update(s.options);
  const stateOf = async () => JSON.parse(await readFile(join(s.install, ".ferry/state.json"), "utf8"));
  const installed = await stateOf();
  assert.equal(installed.statCache.entries, 12_000);
  assert.deepEqual(installed.files, {});
  assert.deepEqual(await readdir(join(s.install, ".ferry/stats")), [installed.statCache.hash]);

  const b2 = await s.publishBuild("2.0.0", many(2));
  const summary = await update(s.options); // auto: incremental at this size
  assert.equal(summary.filesWritten, 4);
  assert.equal(summary.filesKept, 12_000 - 4);
  assert.equal(summary.bytesHashed, 0);
  assert.deepEqual(sortedEntries(await readTree(s.install)), sortedEntries(await readTree(b2)));
  const updated = await stateOf();
  assert.equal(updated.statCache.entries, 12_000);
  // The new cache and the one the kept previous release's record names; nothing else.
  assert.deepEqual(
    (await readdir(join(s.install, ".ferry/stats"))).sort(),
    [installed.statCache.hash, updated.statCache.hash].sort(),
  );

  // Repair verifies every file against the stat cache read back from its file.
  await writeFile(join(s.install, "d7/e0/f7.txt"), "damaged\n");
  const repaired = await repair(s.options);
  assert.equal(repaired.filesRepaired, 1);
  assert.deepEqual(sortedEntries(await readTree(s.install)), sortedEntries(await readTree(b2)));

  await rollback({ installDir: s.install });
  assert.deepEqual(sortedEntries(await readTree(s.install)), sortedEntries(await readTree(b1)));
});
