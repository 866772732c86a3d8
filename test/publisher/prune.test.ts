import "../../src/register-node.js";
import assert from "node:assert/strict";
import { readdir, rm, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { repair } from "../../src/client/ops/repair.js";
import { update } from "../../src/client/ops/update.js";
import type { SigningKey } from "../../src/core/keys.js";
import { prune } from "../../src/publisher/prune.js";
import { publish } from "../../src/publisher/publish.js";
import { readStoredRelease, readStoredReleaseDetail } from "../../src/publisher/release-reader.js";
import { DirectoryStore, type RepoStore } from "../../src/publisher/repo-store.js";
import { startS3Server } from "../../src/testing/s3-server.js";
import { pseudoRandom, sampleGame, writeGame } from "../../src/testing/game-fixture.js";
import { ferry } from "../helpers/cli.js";
import { keys, readTree, sortedEntries, tempDir } from "../helpers/helpers.js";
import { repoFixture } from "../helpers/served-repo.js";

const DAY = 24 * 60 * 60 * 1000;

/**
 * Version v: the sample game (unchanged, so the first pack stays reachable) plus a file unique to each
 * version (so later packs hold only what one release uses).
 */
async function publishVersion(
  dir: string,
  repo: string | RepoStore,
  key: SigningKey,
  v: number,
  extra: { layout?: "tree" | "inline"; created?: Date } = {},
): Promise<{ build: string; manifest: { hash: string; size: number } }> {
  const build = join(dir, `build-v${v}`);
  const game = sampleGame(1);
  game.set("data/build.bin", { data: pseudoRandom(`build-${v}`, 20_000) });
  await writeGame(build, game);
  const result = await publish({
    buildDir: build,
    repo,
    version: `${v}.0.0`,
    key,
    created: extra.created ?? new Date(Date.UTC(2026, 0, v)),
    expiresInDays: 36500,
    rootExpiresInDays: 36500,
    ...(extra.layout ? { layout: extra.layout } : {}),
  });
  return { build, manifest: { hash: result.manifestHash, size: result.manifestBytes } };
}

async function listRepo(repo: string): Promise<string[]> {
  const out: string[] = [];
  for (const prefix of ["manifests", "objects", "packs", "channels", "root"]) {
    const names = await readdir(join(repo, prefix)).catch(() => [] as string[]);
    out.push(...names.map((n) => `${prefix}/${n}`));
  }
  return out.sort();
}

test("prune --keep 2 of 4 tree releases: dry run lists exactly the unreachable objects; apply deletes them and clients at the latest, previous and oldest release still update and repair", async (t) => {
  const { dir, repo, key, pub, server } = await repoFixture(t);
  const releases = [];
  const installs = { oldest: join(dir, "at-v1"), previous: join(dir, "at-v3"), latest: join(dir, "at-v4") };
  for (let v = 1; v <= 4; v++) {
    releases.push(await publishVersion(dir, repo, key, v, { layout: "tree" }));
    if (v === 1) await update({ repoUrl: server.url, installDir: installs.oldest, trust: [pub] });
    if (v === 3) await update({ repoUrl: server.url, installDir: installs.previous, trust: [pub] });
  }
  await update({ repoUrl: server.url, installDir: installs.latest, trust: [pub] });
  const store = new DirectoryStore(repo);
  // A leftover of an interrupted write is garbage too.
  await writeFile(join(repo, "packs", ".tmp-0123456789abcdef"), "partial");
  const before = await listRepo(repo);

  const dry = await prune({ repo, keep: 2, graceDays: 0 });
  assert.equal(dry.applied, false);
  assert.deepEqual(dry.channels, [{ channel: "stable", kept: ["4.0.0", "3.0.0"], graceKept: [] }]);
  assert.deepEqual(await listRepo(repo), before, "a dry run deletes nothing");
  const garbage = new Set(dry.garbage.map((o) => o.path));
  // Expected from the releases themselves: what v1/v2 reference that v3/v4 do not.
  const kept = new Set<string>();
  for (const r of releases.slice(2)) {
    const m = (await readStoredRelease(store, r.manifest))!;
    kept.add(`manifests/${r.manifest.hash}`);
    for (const p of m.packs) kept.add(`packs/${p.id}.pack`).add(`packs/${p.id}.idx.json`);
    // Metadata bundles (FORMAT.md §5.4) of kept releases stay: clients on earlier releases read them.
    for (const b of (await readStoredReleaseDetail(store, r.manifest))!.bundles)
      kept.add(`objects/${b.hash}`);
  }
  assert.ok(
    [...kept].some((p) => p.startsWith("objects/")),
    "the kept releases list metadata bundles",
  );
  const oldPacks = new Set<string>();
  for (const r of releases.slice(0, 2)) {
    const m = (await readStoredRelease(store, r.manifest))!;
    assert.ok(garbage.has(`manifests/${r.manifest.hash}`), `manifest of ${m.version} is garbage`);
    for (const p of m.packs) if (!kept.has(`packs/${p.id}.pack`)) oldPacks.add(`packs/${p.id}.pack`);
  }
  assert.ok(oldPacks.size > 0, "v1/v2 have packs the kept releases do not use");
  for (const p of oldPacks) assert.ok(garbage.has(p), `${p} is garbage`);
  for (const p of kept) assert.ok(!garbage.has(p), `${p} is reachable`);
  assert.ok(garbage.has("packs/.tmp-0123456789abcdef"));
  assert.ok(
    [...garbage].some((p) => p.startsWith("objects/")),
    "tree objects of v1/v2 only are garbage",
  );
  assert.ok(![...garbage].some((p) => p.startsWith("channels/") || p.startsWith("root/")));
  assert.equal(
    dry.garbageBytes,
    dry.garbage.reduce((s, o) => s + o.size, 0),
  );
  assert.ok(dry.garbageBytes > 0);

  // The CLI reports the same plan.
  const cli = await ferry("prune", "--repo", repo, "--keep", "2", "--grace-days", "0", "--json");
  assert.equal(cli.code, 0, cli.stderr);
  const cliResult = JSON.parse(cli.stdout.trim()) as { garbage: { path: string }[]; garbageBytes: number };
  assert.deepEqual(
    cliResult.garbage.map((o) => o.path),
    dry.garbage.map((o) => o.path),
  );
  assert.equal(cliResult.garbageBytes, dry.garbageBytes);

  const applied = await prune({ repo, keep: 2, graceDays: 0, apply: true });
  assert.deepEqual(
    applied.garbage.map((o) => o.path),
    dry.garbage.map((o) => o.path),
  );
  const after = await listRepo(repo);
  assert.deepEqual(
    after,
    before.filter((p) => !garbage.has(p)),
  );
  assert.equal((await prune({ repo, keep: 2, graceDays: 0 })).garbage.length, 0, "nothing left to prune");

  const latestTree = await readTree(releases[3]!.build);
  // Latest: a lost file is repaired from the kept packs.
  await rm(join(installs.latest, "data", "levels.pak"));
  const repaired = await repair({ repoUrl: server.url, installDir: installs.latest, trust: [pub] });
  assert.equal(repaired.filesRepaired, 1);
  assert.deepEqual(sortedEntries(await readTree(installs.latest)), sortedEntries(latestTree));
  // Previous and oldest: update to the latest.
  for (const install of [installs.previous, installs.oldest]) {
    const result = await update({ repoUrl: server.url, installDir: install, trust: [pub] });
    assert.equal(result.version, "4.0.0");
    assert.deepEqual(sortedEntries(await readTree(install)), sortedEntries(latestTree), install);
    t.diagnostic(
      `${install}: ${result.bytesDownloaded} bytes, ${result.deltasApplied} deltas, ${result.chunksFetched} chunks`,
    );
  }
});

test("prune grace period: young objects and releases superseded within the grace period are kept", async (t) => {
  const dir = await tempDir(t);
  const repo = join(dir, "repo");
  const { key } = keys();
  // Pretend "now" is 30 days after the objects were written, with releases superseded 10 and 3 days ago.
  const now = new Date(Date.now() + 30 * DAY);
  const created = [now.getTime() - 20 * DAY, now.getTime() - 10 * DAY, now.getTime() - 3 * DAY];
  const releases: Awaited<ReturnType<typeof publishVersion>>[] = [];
  for (let v = 1; v <= 3; v++)
    releases.push(await publishVersion(dir, repo, key, v, { created: new Date(created[v - 1]!) }));
  const before = await listRepo(repo);

  // Real now: everything was just written, so nothing is old enough, even with --apply.
  const fresh = await prune({ repo, keep: 1, graceDays: 7, apply: true });
  assert.equal(fresh.garbage.length, 0);
  // (The releases' creation times lie in the future of the real clock: all within the grace period.)
  assert.deepEqual(fresh.channels[0]!.graceKept, ["2.0.0", "1.0.0"]);
  assert.deepEqual(await listRepo(repo), before);

  // 30 days later: v2 was superseded 3 days ago (within 7): kept; v1 10 days ago: garbage.
  const later = await prune({ repo, keep: 1, graceDays: 7, now });
  assert.deepEqual(later.channels, [{ channel: "stable", kept: ["3.0.0"], graceKept: ["2.0.0"] }]);
  const garbage = later.garbage.map((o) => o.path);
  assert.ok(garbage.includes(`manifests/${releases[0]!.manifest.hash}`));
  assert.ok(!garbage.includes(`manifests/${releases[1]!.manifest.hash}`));
  assert.equal(later.young.length, 0);
  // A shorter grace period drops v2 as well.
  const short = await prune({ repo, keep: 1, graceDays: 2, now });
  assert.deepEqual(short.channels[0]!.graceKept, []);
  assert.ok(short.garbage.some((o) => o.path === `manifests/${releases[1]!.manifest.hash}`));
  // Old modification time on a leftover: garbage at real now with grace 7.
  const leftover = join(repo, "packs", ".tmp-feedfacefeedface");
  await writeFile(leftover, "x");
  await utimes(leftover, new Date(Date.now() - 8 * DAY), new Date(Date.now() - 8 * DAY));
  const swept = await prune({ repo, keep: 1, graceDays: 7, apply: true });
  assert.deepEqual(
    swept.garbage.map((o) => o.path),
    ["packs/.tmp-feedfacefeedface"],
  );
  assert.deepEqual(await listRepo(repo), before);
});

test("S3: prune through the AWS SDK deletes the same garbage by LastModified, and a client at a pruned release still updates from the bucket", async (t) => {
  const dir = await tempDir(t);
  const s3 = await startS3Server();
  t.after(() => s3.close());
  const { key, pub } = keys();
  const store = s3.store("games/demo");
  t.after(() => store.close());
  const base = s3.url("games/demo");
  const previous = join(dir, "at-v2");
  const releases: Awaited<ReturnType<typeof publishVersion>>[] = [];
  for (let v = 1; v <= 3; v++) {
    releases.push(await publishVersion(dir, store, key, v, { layout: "tree" }));
    if (v === 2) await update({ repoUrl: base, installDir: previous, trust: [pub], rangeMode: "single" });
  }
  const young = await prune({ repo: store, keep: 1, graceDays: 7 });
  assert.equal(young.garbage.length, 0, "everything was just uploaded");
  assert.ok(young.young.some((o) => o.path === `manifests/${releases[0]!.manifest.hash}`));
  const applied = await prune({ repo: store, keep: 1, graceDays: 0, apply: true });
  const garbage = applied.garbage.map((o) => o.path);
  assert.ok(garbage.includes(`manifests/${releases[0]!.manifest.hash}`));
  assert.ok(
    garbage.some((p) => p.endsWith(".pack")),
    "v1's own pack (its build file) is garbage",
  );
  for (const path of garbage) assert.equal(await store.exists(path), false, path);
  assert.equal((await prune({ repo: store, keep: 1, graceDays: 0 })).garbage.length, 0);
  // The client at v2, a pruned release, still updates.
  const result = await update({ repoUrl: base, installDir: previous, trust: [pub], rangeMode: "single" });
  assert.equal(result.version, "3.0.0");
  assert.deepEqual(
    sortedEntries(await readTree(previous)),
    sortedEntries(await readTree(releases[2]!.build)),
  );
});
