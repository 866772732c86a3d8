import "../../src/register-node.js";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { cp, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { status } from "../../src/client/ops/inspect.js";
import { readUpdateLog } from "../../src/client/install/update-log.js";
import { check, update } from "../../src/client/ops/update.js";
import { rolloutBucket, ROLLOUT_BUCKETS, selectRelease } from "../../src/core/release-policy.js";
import type { PointerBody } from "../../src/core/pointer.js";
import { haltRollout, setRollout } from "../../src/publisher/rollout.js";
import { serveRepository } from "../../src/server/static-server.js";
import { sampleGame } from "../../src/testing/game-fixture.js";
import { assertTreeIs, rejectsWith } from "../helpers/helpers.js";
import { type ReleaseOptions, repoFixture, type ServedRepo } from "../helpers/served-repo.js";
import { nodeCrypto } from "../../src/node/node-crypto.js";

const ids = (n: number, seed: string) =>
  Array.from({ length: n }, (_, i) => createHash("sha256").update(`${seed}:${i}`).digest("hex").slice(0, 32));

test("rollout bucketing: over 10,000 install ids each share is within 2 points of its percentage", async () => {
  const release = createHash("sha256").update("some release").digest("hex");
  const population = ids(10_000, "install");
  const report: string[] = [];
  const buckets = new Map<string, number>();
  for (const id of population) buckets.set(id, await rolloutBucket(nodeCrypto, id, release));
  for (const percent of [1, 5, 10, 25, 50, 90]) {
    const inside = population.filter((id) => buckets.get(id)! < percent * 100).length;
    const share = (inside / population.length) * 100;
    report.push(`${percent}%: ${share.toFixed(2)}%`);
    assert.ok(Math.abs(share - percent) <= 2, `${percent} %: ${share} %`);
  }
  // Deterministic, in range, and per release (another release picks other installs first).
  const other = createHash("sha256").update("another release").digest("hex");
  let same = 0;
  for (const id of population.slice(0, 1000)) {
    const bucket = await rolloutBucket(nodeCrypto, id, release);
    assert.equal(bucket, await rolloutBucket(nodeCrypto, id, release));
    assert.ok(bucket >= 0 && bucket < ROLLOUT_BUCKETS);
    if ((await rolloutBucket(nodeCrypto, id, other)) < 1000 && bucket < 1000) same++;
  }
  assert.ok(same < 40, `the first 10 % of two releases overlap in ${same} of 1000 installs (expect ~10)`);
  process.stdout.write(`# bucket shares: ${report.join(", ")}\n`);
});

test("selectRelease: raising a rollout only adds installs; outside stays, never pushed back", async () => {
  const ref = (n: number) => ({
    version: `${n}.0.0`,
    manifest: { hash: String(n).repeat(64).slice(0, 64), size: 1, codec: "br" as const, rawSize: 1 },
  });
  const body = (bp: number): PointerBody => ({
    channel: "stable",
    ...ref(2),
    serial: 3,
    root: 1,
    published: "2026-01-01T00:00:00Z",
    expires: "2027-01-01T00:00:00Z",
    rollout: { basisPoints: bp, fallback: ref(1) },
  });
  const population = ids(2000, "select");
  const installedV1 = { version: "1.0.0", manifest: ref(1).manifest };
  const inside = async (bp: number) => {
    const picked = new Set<string>();
    for (const id of population) {
      if ((await selectRelease(nodeCrypto, body(bp), id, installedV1)).reason === "release") picked.add(id);
    }
    return picked;
  };
  const at10 = await inside(1000);
  const at30 = await inside(3000);
  for (const id of at10) assert.ok(at30.has(id), "an install inside at 10 % is inside at 30 %");
  const out = population.find((id) => !at30.has(id))!;
  assert.equal((await selectRelease(nodeCrypto, body(3000), out, installedV1)).reason, "fallback");
  assert.equal(
    (await selectRelease(nodeCrypto, body(3000), out, undefined)).target.version,
    "1.0.0",
    "fresh: the fallback",
  );
  const onV2 = { version: "2.0.0", manifest: ref(2).manifest };
  const lowered = await selectRelease(nodeCrypto, body(0), out, onV2);
  assert.deepEqual([lowered.reason, lowered.target.version], ["stay", "2.0.0"]);
});

/** Sample game `version` published through the fixture, build directory named after `extra`'s options. */
function publishBuild(served: ServedRepo, version: 1 | 2 | 3, extra: Partial<ReleaseOptions> = {}) {
  // A fixed creation time: the same build gives the same manifest on every channel.
  return served.publish(sampleGame(version), {
    build: `build-${version}-${Object.keys(extra).join("-")}`,
    version: `${version}.0.0`,
    expiresInDays: 36500,
    rootExpiresInDays: 36500,
    created: new Date(Date.UTC(2026, 0, version)),
    ...extra,
  });
}

test("staged rollout and halt end to end: installs inside and outside the bucket", async (t) => {
  const served = await repoFixture(t);
  const { dir, repo, key, pub } = served;
  await publishBuild(served, 1);
  const run = (install: string, extra = {}) => served.update(install, extra);
  const template = join(dir, "template");
  await run(template);

  const v2 = await publishBuild(served, 2, { rolloutPercent: 50 });
  const population = ids(200, "e2e");
  const bucketOf = new Map<string, number>();
  for (const id of population) bucketOf.set(id, await rolloutBucket(nodeCrypto, id, v2.manifestHash));
  const insideId = population.find((id) => bucketOf.get(id)! < 5000)!;
  const outsideId = population.find((id) => bucketOf.get(id)! >= 5000)!;
  const withId = async (name: string, id: string, from?: string) => {
    const install = join(dir, name);
    if (from) await cp(from, install, { recursive: true });
    await mkdir(join(install, ".ferry"), { recursive: true });
    await writeFile(join(install, ".ferry", "install-id"), `${id}\n`);
    return install;
  };
  const inside = await withId("inside", insideId, template);
  const outside = await withId("outside", outsideId, template);
  const freshInside = await withId("fresh-inside", insideId);
  const freshOutside = await withId("fresh-outside", outsideId);

  const c = await check(served.options(outside));
  assert.deepEqual([c.updateAvailable, c.selection], [false, "fallback"]);
  assert.equal(c.rolloutBucket, await rolloutBucket(nodeCrypto, outsideId, v2.manifestHash));
  assert.equal((await run(inside)).version, "2.0.0");
  assert.equal((await run(outside)).upToDate, true);
  assert.equal((await run(freshInside)).version, "2.0.0");
  assert.equal((await run(freshOutside)).version, "1.0.0", "a fresh install outside gets the fallback");
  await assertTreeIs(inside, 2);
  await assertTreeIs(outside, 1);
  const st = await status({ installDir: inside });
  assert.equal(st.lifecycle.rolloutBucket, await rolloutBucket(nodeCrypto, insideId, v2.manifestHash));
  assert.equal(st.lifecycle.rolloutBasisPoints, 5000);

  // Halt: the channel points at 1.0.0 again with a higher serial and no new version number.
  const halted = await haltRollout({ repo, keys: [key] });
  assert.deepEqual([halted.version, halted.halted?.version, halted.serial], ["1.0.0", "2.0.0", 3]);
  const back = await run(inside);
  assert.equal(back.version, "1.0.0");
  assert.equal(back.bytesDownloaded, back.metadataBytes, "restored from the kept previous release");
  await assertTreeIs(inside, 1);
  const last = (await readUpdateLog({ installDir: inside })).at(-1)!;
  assert.deepEqual([last.kind, last.code, last.version], ["rolled-back", "ROLLBACK_HALTED", "2.0.0"]);
  assert.equal((await status({ installDir: inside })).serial, 3);
  // No previous kept (a fresh install of 2.0.0): the halted pointer authorises the download of 1.0.0.
  assert.equal((await run(freshInside)).version, "1.0.0");
  await assertTreeIs(freshInside, 1);
  assert.equal((await run(outside)).upToDate, true);
  await assertTreeIs(outside, 1);

  // The pre-halt pointer replayed to a rolled-back install: its serial is lower, refused.
  const haltedPointer = await readFile(join(repo, "channels", "stable.json"));
  const replay = join(dir, "replay-repo");
  await cp(repo, replay, { recursive: true });
  const v3 = await publishBuild(served, 3, { rolloutPercent: 10 });
  assert.equal(v3.serial, 4);
  await writeFile(join(replay, "channels", "stable.json"), haltedPointer);

  // Completing the rollout of 3.0.0 reaches everybody, whatever the bucket.
  await setRollout({ repo, keys: [key], percent: 100 });
  for (const install of [inside, outside, freshInside, freshOutside]) {
    assert.equal((await run(install)).version, "3.0.0");
    await assertTreeIs(install, 3);
  }
  const replayServer = await serveRepository({ root: replay });
  t.after(() => replayServer.close());
  await rejectsWith(update({ repoUrl: replayServer.url, installDir: inside, trust: [pub] }), "E_ROLLBACK");
  await assertTreeIs(inside, 3);
});

test("switching channel records it and never downgrades unless asked", async (t) => {
  const served = await repoFixture(t);
  await publishBuild(served, 1);
  await publishBuild(served, 2, { channel: "beta" });
  const install = join(served.dir, "install");
  const run = (extra = {}) => served.update(install, extra);
  await run();
  assert.equal((await run({ channel: "beta" })).version, "2.0.0");
  assert.equal((await status({ installDir: install })).channel, "beta");
  await assertTreeIs(install, 2);
  // Without --channel the install follows the channel it recorded.
  assert.equal((await run()).upToDate, true);
  await rejectsWith(run({ channel: "stable" }), "E_ROLLBACK");
  assert.equal((await status({ installDir: install })).channel, "beta");
  await assertTreeIs(install, 2);
  const down = await run({ channel: "stable", allowDowngrade: true });
  assert.equal(down.version, "1.0.0");
  assert.equal((await status({ installDir: install })).channel, "stable");
  await assertTreeIs(install, 1);
  // Same release on two channels: switching changes only the recorded channel.
  await publishBuild(served, 1, { channel: "lts" });
  assert.equal((await run({ channel: "lts" })).upToDate, true);
  assert.equal((await status({ installDir: install })).channel, "lts");
});
