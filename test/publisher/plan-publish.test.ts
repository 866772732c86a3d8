import "../../src/register-node.js";
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import type { UpdateSummary } from "../../src/client/ops/update.js";
import { planPublish } from "../../src/publisher/plan-publish.js";
import { publish } from "../../src/publisher/publish.js";
import { DirectoryStore, type RepoStore } from "../../src/publisher/repo-store.js";
import { pseudoRandom } from "../../src/testing/game-fixture.js";
import { sandboxListing } from "../helpers/sandbox-hash.js";
import { repoFixture, writeBuild } from "../helpers/served-repo.js";

/**
 * A store that forwards reads to a DirectoryStore and fails the test on anything else: a dry run may
 * read, never write, delete, take a temp path or a lock.
 */
class ReadOnlyStore implements RepoStore {
  readonly refused: string[] = [];
  readonly reads = { count: 0 };
  constructor(private readonly inner: DirectoryStore) {}
  get location(): string {
    return this.inner.location;
  }
  private no(what: string): never {
    this.refused.push(what);
    throw new Error(`the dry run called ${what}`);
  }
  read(path: string) {
    this.reads.count++;
    return this.inner.read(path);
  }
  head(path: string) {
    this.reads.count++;
    return this.inner.head(path);
  }
  readRange(path: string, offset: number, length: number) {
    this.reads.count++;
    return this.inner.readRange(path, offset, length);
  }
  list(prefix: string) {
    return this.inner.list(prefix);
  }
  exists(path: string) {
    return this.inner.exists(path);
  }
  readTagged(path: string) {
    return this.inner.readTagged(path);
  }
  write(path: string): Promise<void> {
    return this.no(`write(${path})`);
  }
  writeIf(path: string): Promise<void> {
    return this.no(`writeIf(${path})`);
  }
  putFile(path: string): Promise<void> {
    return this.no(`putFile(${path})`);
  }
  tempPath(): Promise<string> {
    return this.no("tempPath()");
  }
  delete(path: string): Promise<void> {
    return this.no(`delete(${path})`);
  }
  lock(command: string): never {
    return this.no(`lock(${command})`);
  }
}

/** base files data/f<i> (some change per version), hd files hd/t<i>; `drop` removes base files, `extra` adds some. */
function build(version: number, drop: readonly number[] = [], extra = 0): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  for (let i = 0; i < 10; i++)
    if (!drop.includes(i))
      files[`data/f${i}.bin`] = pseudoRandom(`f${i}-${i % 4 === 0 ? version : 0}`, 4000 + 131 * i);
  for (let i = 0; i < 4; i++) files[`hd/t${i}.bin`] = pseudoRandom(`t${i}`, 9000 + 17 * i);
  for (let i = 0; i < extra; i++) files[`data/new${i}.bin`] = pseudoRandom(`new${i}-${version}`, 1500);
  return files;
}
const HD_OPTIONAL = {
  format: 1,
  type: "ferry-packages",
  packages: { hd: { optional: true } },
  rules: [{ match: "hd/**", package: "hd" }],
};
const day = (d: number) => new Date(Date.UTC(2026, 0, d));
const LONG = { expiresInDays: 36500, rootExpiresInDays: 36500 };

test("publish dry run: changes per package and downloads per release, exactly the real publish's, with no byte written to the repository", async (t) => {
  const served = await repoFixture(t);
  const { dir, repo } = served;
  const onV1 = join(dir, "on-v1");
  const onV2 = join(dir, "on-v2");
  await served.publish(build(1), { version: "1.0.0", created: day(1), ...LONG });
  await served.update(onV1);
  await served.publish(build(2), { version: "2.0.0", created: day(2), ...LONG });
  await served.update(onV2);

  // 3.0.0: f1, f2 removed, 2 files added, f0/f4/f8 changed, hd/** moved into an optional package.
  const build3 = join(dir, "build-3");
  await writeBuild(build3, build(3, [1, 2], 2), HD_OPTIONAL);
  const options = { buildDir: build3, key: served.key, version: "3.0.0", created: day(3), ...LONG };
  const listing = await sandboxListing(repo);
  const store = new ReadOnlyStore(new DirectoryStore(repo));
  const events: string[] = [];
  const plan = await planPublish({ ...options, repo: store, onEvent: (e) => events.push(e.type) });
  assert.deepEqual(store.refused, [], "the store received no write, delete, temp file or lock");
  assert.ok(store.reads.count > 0);
  assert.deepEqual(await sandboxListing(repo), listing, "every byte of the repository is unchanged");
  assert.ok(events.includes("scan") && events.includes("file"), "progress events of the scan and chunking");
  assert.ok(!events.includes("upload"), "no upload event");

  assert.equal(plan.wouldPublish, true);
  assert.deepEqual(plan.refusals, []);
  assert.deepEqual(plan.current, { version: "2.0.0", serial: 2 });
  const byName = new Map(plan.packages.map((p) => [p.name, p]));
  assert.deepEqual([...byName.keys()], ["base", "hd"]);
  assert.deepEqual(byName.get("base")!.added, ["data/new0.bin", "data/new1.bin"]);
  assert.deepEqual(byName.get("base")!.changed, ["data/f0.bin", "data/f4.bin", "data/f8.bin"]);
  assert.deepEqual(byName.get("base")!.removed, ["data/f1.bin", "data/f2.bin"]);
  assert.equal(byName.get("base")!.unchanged, 5);
  assert.deepEqual(byName.get("hd")!.moved, ["hd/t0.bin", "hd/t1.bin", "hd/t2.bin", "hd/t3.bin"]);
  assert.equal(byName.get("hd")!.optional, true);
  assert.deepEqual(plan.totals, { added: 2, changed: 3, removed: 2, moved: 4, unchanged: 5 });
  assert.deepEqual(
    plan.downloads.map((d) => d.from),
    ["1.0.0", "2.0.0", null],
  );

  // The real publish with the same options: the same release, byte for byte (manifest hash included).
  const real = await publish({ ...options, repo });
  assert.deepEqual(plan.result, real, "the dry run's result is the publish's");
  const after = await sandboxListing(repo);
  const added = after.filter((line) => !listing.includes(line) && / file /.test(line));
  const uploaded = added.map((line) => Number(line.split(" ")[3]));
  t.diagnostic(
    `real publish added ${added.length} files, ${uploaded.reduce((a, b) => a + b, 0)} B; plan said ${plan.uploads.objects} objects, ${plan.uploads.bytes} B`,
  );
  // The objects and bytes the plan counts are the ones the publish wrote (new or replaced files).
  assert.equal(plan.uploads.objects, added.length);
  assert.equal(
    plan.uploads.bytes,
    uploaded.reduce((a, b) => a + b, 0),
  );

  // Players on 1.0.0, 2.0.0 and a fresh install download what the plan said.
  const runs: [string | null, UpdateSummary][] = [
    ["1.0.0", await served.update(onV1)],
    ["2.0.0", await served.update(onV2)],
    [null, await served.update(join(dir, "fresh"))],
  ];
  for (const [from, summary] of runs) {
    const d = plan.downloads.find((x) => x.from === from)!;
    const who = from ?? "a fresh install";
    t.diagnostic(
      `${who}: plan ${d.payloadBytes}+${d.metadataBytes} B, ${d.payloadRequests} payload requests, ${d.filesWritten} written, ${d.filesDeleted} deleted; client ${summary.bytesDownloaded} B (${summary.metadataBytes} metadata), ${summary.requests} requests, ${summary.filesWritten} written, ${summary.filesDeleted} deleted`,
    );
    assert.equal(summary.version, "3.0.0");
    assert.equal(d.filesWritten, summary.filesWritten, `files written, ${who}`);
    assert.equal(d.filesDeleted, summary.filesDeleted, `files deleted, ${who}`);
    assert.equal(d.metadataBytes, summary.metadataBytes, `metadata, ${who}`);
    const framing = summary.bytesDownloaded - summary.metadataBytes - d.payloadBytes;
    assert.ok(framing >= 0 && framing <= 200 * d.ranges, `payload framing, ${who}: ${framing}`);
    assert.equal(d.requests, summary.requests, `requests, ${who}`);
  }
});

test("publish dry run: the guard rails are reported as refusals (empty build, version order, expiry), nothing written", async (t) => {
  const served = await repoFixture(t);
  const { dir, repo } = served;
  await served.publish(build(1), { version: "2.0.0", created: day(1), ...LONG });
  const empty = join(dir, "empty");
  await writeBuild(empty, {});
  const listing = await sandboxListing(repo);
  const store = new ReadOnlyStore(new DirectoryStore(repo));
  const plan = await planPublish({
    buildDir: empty,
    repo: store,
    key: served.key,
    version: "1.0.0",
    expiresInDays: 1,
  });
  assert.deepEqual(store.refused, []);
  assert.deepEqual(await sandboxListing(repo), listing);
  assert.equal(plan.wouldPublish, false);
  assert.deepEqual(
    plan.refusals.map((r) => [r.reason, r.flag]),
    [
      ["version", "--allow-downgrade"],
      ["expiry", "--allow-short-expiry"],
      ["empty", "--allow-empty"],
    ],
  );
  assert.match(plan.refusals[0]!.message, /1\.0\.0 is not above 2\.0\.0/);
  // What it would do if overridden: every file of 2.0.0 removed, and a 1-day pointer warned about.
  assert.equal(plan.totals.removed, Object.keys(build(1)).length);
  assert.equal(plan.result.files, 0);
  assert.ok(plan.warnings.some((w) => w.what === "channel stable" && w.daysLeft <= 1));
  // The same flags that let the real publish through clear the refusals.
  const allowed = await planPublish({
    buildDir: empty,
    repo,
    key: served.key,
    version: "1.0.0",
    expiresInDays: 1,
    allowEmpty: true,
    allowDowngrade: true,
    allowShortExpiry: true,
  });
  assert.equal(allowed.wouldPublish, true);
  assert.deepEqual(
    await sandboxListing(repo),
    listing,
    "a dry run on the directory path writes nothing either",
  );
});

test("publish dry run on an empty repository: the first release, root included, nothing created", async (t) => {
  const served = await repoFixture(t);
  const { dir, repo } = served;
  const b = join(dir, "b");
  await writeBuild(b, build(1));
  const plan = await planPublish({ buildDir: b, repo, key: served.key, version: "1.0.0" });
  assert.equal(plan.current, null);
  assert.equal(plan.totals.added, Object.keys(build(1)).length);
  assert.deepEqual(
    plan.downloads.map((d) => d.from),
    [null],
  );
  assert.equal(plan.downloads[0]!.filesWritten, Object.keys(build(1)).length);
  assert.deepEqual(await sandboxListing(repo), [], "the repository directory stays empty");
});
