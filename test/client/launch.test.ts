import "../../src/register-node.js";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { status, verify } from "../../src/client/ops/inspect.js";
import { markHealthy, open, rollback } from "../../src/client/ops/launch.js";
import { readUpdateLog } from "../../src/client/install/update-log.js";
import { check, update } from "../../src/client/ops/update.js";
import type { Manifest } from "../../src/core/manifest.js";
import type { Plan } from "../../src/core/planner.js";
import { spaceNeeded } from "../../src/core/space.js";
import { publish } from "../../src/publisher/publish.js";
import { sampleGame, writeGame } from "../../src/testing/game-fixture.js";
import {
  assertTreeIs,
  publishVersions,
  readTree,
  rejectsWith,
  sortedEntries,
  tempDir,
} from "../helpers/helpers.js";
import { repoFixture } from "../helpers/served-repo.js";

async function setup(t: Parameters<typeof tempDir>[0]) {
  const { dir, repo, server, ...k } = await repoFixture(t);
  await publishVersions(dir, repo, k.key, [1]);
  const install = join(dir, "install");
  return {
    dir,
    repo,
    key: k.key,
    pub: k.pub,
    publicText: k.publicText,
    install,
    run: (extra = {}) => update({ repoUrl: server.url, installDir: install, trust: [k.pub], ...extra }),
    check: () => check({ repoUrl: server.url, installDir: install, trust: [k.pub] }),
  };
}

const hashText = (text: string) => `${createHash("sha256").update(text).digest("hex")} -`;

test("rollback restores the exact previous tree (every file hashed), blocks the release, logs why", async (t) => {
  const s = await setup(t);
  await s.run();
  // A player's file where v2 puts a file of its own, and one v2 never touches: both survive the round trip.
  await mkdir(join(s.install, "data", "new-area"), { recursive: true });
  await writeFile(join(s.install, "data", "new-area", "map.json"), "player's own map");
  await mkdir(join(s.install, "saves"));
  await writeFile(join(s.install, "saves", "slot1.sav"), "progress");
  const untracked = {
    "data/new-area/map.json": hashText("player's own map"),
    "saves/slot1.sav": hashText("progress"),
  };
  const before = sortedEntries(await readTree(s.install));

  await publishVersions(s.dir, s.repo, s.key, [2]);
  await s.run();
  await assertTreeIs(s.install, 2, { "saves/slot1.sav": untracked["saves/slot1.sav"] });
  assert.equal((await status({ installDir: s.install })).lifecycle.previousVersion, "1.0.0");

  const result = await rollback({ installDir: s.install });
  assert.equal(result.version, "1.0.0");
  assert.equal(result.fromVersion, "2.0.0");
  assert.deepEqual(sortedEntries(await readTree(s.install)), before, "exactly the tree before the update");
  await assertTreeIs(s.install, 1, untracked);
  assert.equal((await status({ installDir: s.install })).version, "1.0.0");
  assert.equal((await verify({ installDir: s.install })).ok, true);
  assert.deepEqual(await readdir(join(s.install, ".ferry", "manifests")), [
    JSON.parse(await readFile(join(s.install, ".ferry", "state.json"), "utf8")).manifest.hash,
  ]);

  // The rolled-back release is refused with a recorded reason; a newer one is installed.
  await rejectsWith(s.run(), "E_BLOCKED");
  await rejectsWith(s.check(), "E_BLOCKED"); // the same refusal again is not logged twice
  await assertTreeIs(s.install, 1, untracked);
  await rejectsWith(rollback({ installDir: s.install }), "E_NO_PREVIOUS");
  await publishVersions(s.dir, s.repo, s.key, [3]);
  assert.equal((await s.run()).version, "3.0.0");

  const log = await readUpdateLog({ installDir: s.install });
  assert.deepEqual(
    log.map((e) => [e.kind, e.code, e.version]),
    [
      ["updated", "OK", "1.0.0"],
      ["displaced", "DISPLACED", "2.0.0"], // the player's map.json, moved aside by the v2 commit
      ["updated", "OK", "2.0.0"],
      ["rolled-back", "ROLLBACK_REQUESTED", "2.0.0"],
      ["refused", "E_BLOCKED", "2.0.0"],
      ["displaced", "DISPLACED", "3.0.0"], // the rollback put it back; v3 ships that path too
      ["updated", "OK", "3.0.0"],
    ],
  );
  for (const e of log) assert.match(e.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal((await status({ installDir: s.install })).lifecycle.blocked[0]?.version, "2.0.0");
});

test("a kept file changed after the update makes rollback refuse with E_DAMAGED and change nothing", async (t) => {
  const s = await setup(t);
  await s.run();
  await publishVersions(s.dir, s.repo, s.key, [2]);
  await s.run();
  const previous = join(s.install, ".ferry", "previous");
  const [hash] = await readdir(previous);
  const files = join(previous, hash!, "files");
  const [first] = (await readdir(files)).sort();
  await writeFile(join(files, first!), "tampered");
  await rejectsWith(rollback({ installDir: s.install }), "E_DAMAGED");
  await assertTreeIs(s.install, 2);
  assert.equal((await status({ installDir: s.install })).version, "2.0.0");
});

test("crash loop: N launches without markHealthy, the next open rolls back and blocks the release", async (t) => {
  const s = await setup(t);
  await s.run();
  assert.equal((await open({ installDir: s.install })).launches, 1);
  await markHealthy({ installDir: s.install });
  for (let i = 0; i < 3; i++)
    assert.equal((await open({ installDir: s.install })).healthy, true, "healthy: not counted");

  await publishVersions(s.dir, s.repo, s.key, [2]);
  await s.run();
  const first = await open({ installDir: s.install });
  assert.deepEqual(
    [first.version, first.launches, first.healthy, first.rolledBack],
    ["2.0.0", 1, false, null],
  );
  assert.equal((await open({ installDir: s.install })).launches, 2);
  const third = await open({ installDir: s.install });
  assert.equal(third.version, "1.0.0");
  assert.equal(third.rolledBack?.code, "ROLLBACK_CRASH_LOOP");
  assert.match(third.rolledBack?.message ?? "", /launched 2 times without being marked healthy/);
  await assertTreeIs(s.install, 1);
  const last = (await readUpdateLog({ installDir: s.install })).at(-1)!;
  assert.deepEqual([last.kind, last.code, last.version], ["rolled-back", "ROLLBACK_CRASH_LOOP", "2.0.0"]);
  assert.equal(last.release, third.rolledBack?.fromRelease);

  await rejectsWith(s.run(), "E_BLOCKED");
  const st = await status({ installDir: s.install });
  assert.equal(st.lifecycle.lastError?.code, "E_BLOCKED");
  assert.equal(st.lifecycle.blocked.length, 1);
  await assertTreeIs(s.install, 1);
});

test("maxUnhealthyLaunches is configurable; markHealthy in time prevents the rollback", async (t) => {
  const s = await setup(t);
  await s.run();
  await publishVersions(s.dir, s.repo, s.key, [2]);
  await s.run();
  for (let i = 1; i <= 4; i++)
    assert.equal((await open({ installDir: s.install, maxUnhealthyLaunches: 4 })).launches, i);
  await markHealthy({ installDir: s.install });
  const after = await open({ installDir: s.install, maxUnhealthyLaunches: 4 });
  assert.deepEqual([after.version, after.healthy, after.rolledBack], ["2.0.0", true, null]);
  await rejectsWith(open({ installDir: s.install, maxUnhealthyLaunches: 0 }), "E_USAGE");
});

test("a crash loop with nothing to roll back to is logged once and the release keeps starting", async (t) => {
  const s = await setup(t);
  await s.run();
  for (let i = 0; i < 5; i++) assert.equal((await open({ installDir: s.install })).version, "1.0.0");
  const entries = (await readUpdateLog({ installDir: s.install })).filter((e) => e.kind === "no-previous");
  assert.equal(entries.length, 1);
  assert.equal(entries[0]!.code, "E_NO_PREVIOUS");
});

test("apply on next start: staged now, the install unchanged until open commits it", async (t) => {
  const s = await setup(t);
  await s.run();
  await publishVersions(s.dir, s.repo, s.key, [2]);
  const staged = await s.run({ applyOn: "next-start" });
  assert.equal(staged.pending, true);
  assert.equal(staged.version, "2.0.0");
  await assertTreeIs(s.install, 1);
  assert.equal((await status({ installDir: s.install })).version, "1.0.0");
  assert.equal((await status({ installDir: s.install })).lifecycle.pending, true);

  const opened = await open({ installDir: s.install });
  assert.deepEqual(opened.staged, { applied: true, version: "2.0.0", fromVersion: "1.0.0" });
  assert.equal(opened.version, "2.0.0");
  await assertTreeIs(s.install, 2);
  assert.equal((await status({ installDir: s.install })).lifecycle.pending, false);
  assert.deepEqual(
    (await readUpdateLog({ installDir: s.install })).map((e) => e.kind),
    ["updated", "staged", "applied-staged"],
  );
  // The staged commit kept the previous release like any other.
  await rollback({ installDir: s.install });
  await assertTreeIs(s.install, 1);
});

test("apply on next start: a file changed after staging discards the staged update, with the reason", async (t) => {
  const s = await setup(t);
  await s.run();
  await publishVersions(s.dir, s.repo, s.key, [2]);
  await s.run({ applyOn: "next-start" });
  // README.txt is the same in v1 and v2: a kept file, changed behind Ferry's back.
  await writeFile(join(s.install, "README.txt"), "edited by the player\n");
  const opened = await open({ installDir: s.install });
  assert.equal(opened.staged.applied, false);
  assert.match((opened.staged as { reason: string }).reason, /README\.txt changed/);
  assert.equal(opened.version, "1.0.0");
  await assertTreeIs(s.install, 1, { "README.txt": hashText("edited by the player\n") });
  const last = (await readUpdateLog({ installDir: s.install })).at(-1)!;
  assert.equal(last.kind, "discarded-staged");
  // The next update stages again (and repairs README.txt).
  await s.run();
  await assertTreeIs(s.install, 2);
});

test("mandatory and minimum version are signed in the pointer and exposed by check", async (t) => {
  const s = await setup(t);
  await s.run();
  const plain = await s.check();
  assert.deepEqual([plain.mandatory, plain.minVersion, plain.mustUpdate], [false, null, false]);
  const build = join(s.dir, "build-v2m");
  await writeGame(build, sampleGame(2));
  await publish({
    buildDir: build,
    repo: s.repo,
    version: "2.0.0",
    key: s.key,
    mandatory: true,
    minVersion: "2.0.0",
    expiresInDays: 30,
  });
  const result = await s.check();
  assert.deepEqual(
    [result.updateAvailable, result.mandatory, result.minVersion, result.mustUpdate],
    [true, true, "2.0.0", true],
  );
  await s.run();
  const after = await s.check();
  assert.deepEqual([after.updateAvailable, after.mustUpdate], [false, false]);
});

test("a refusal hook (metered connection) stops the update before any download, logged", async (t) => {
  const s = await setup(t);
  await s.run();
  await publishVersions(s.dir, s.repo, s.key, [2]);
  let seen: { downloadBytes: number; availableBytes: number } | undefined;
  await rejectsWith(
    s.run({
      beforeDownload: (info: { downloadBytes: number; availableBytes: number }) => {
        seen = info;
        return { reason: "metered", message: "the player is on a metered connection" };
      },
    }),
    "E_REFUSED",
  );
  assert.ok(seen && seen.downloadBytes > 0 && seen.availableBytes > 0);
  await assertTreeIs(s.install, 1);
  const last = (await readUpdateLog({ installDir: s.install })).at(-1)!;
  assert.deepEqual([last.kind, last.code, last.version], ["refused", "E_REFUSED", "2.0.0"]);
  assert.match(last.message, /metered/);
  // Without the refusal the same update goes through.
  assert.equal((await s.run({ beforeDownload: () => undefined })).version, "2.0.0");
});

test("spaceNeeded counts the previous release's record when the update keeps one (files are moved)", () => {
  const file = (path: string, size: number) => ({
    path,
    size,
    sha256: "0".repeat(64),
    executable: false,
    package: "base",
    chunks: [],
  });
  const writes = [file("a.bin", 5000), file("dir/b.txt", 1)];
  const plan = {
    keep: [],
    writes: writes.map((f) => ({ file: f, sources: [] })),
    deletes: ["old.txt"],
    fetch: [],
    ranges: [],
    downloadBytes: 0,
    writeBytes: 5001,
  } satisfies Plan;
  const manifest = { files: writes } as unknown as Manifest;
  const base = { plan, manifest, manifestBytes: 3000, pointerBytes: 500, blockSize: 4096 };
  const without = spaceNeeded(base);
  const kept = spaceNeeded({ ...base, previousStateBytes: 9000 });
  assert.equal(without.previous, 0);
  // Record: 4096 + old state + (2 × path + 32) per move and delete; three directories; 16 B per entry.
  const record = 4096 + 9000 + (2 * 5 + 32) + (2 * 9 + 32) + (2 * 7 + 32);
  assert.equal(kept.previous, Math.ceil(record / 4096) * 4096 + 3 * 4096 + 4096);
  assert.equal(kept.total, without.total + kept.previous);
  assert.equal(kept.files, without.files, "replaced files are moved into previous/, never copied");
});
