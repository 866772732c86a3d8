import "../../src/register-node.js";
import assert from "node:assert/strict";
import { cp, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import type { UpdateEvent } from "../../src/client/events.js";
import { status, verify } from "../../src/client/ops/inspect.js";
import { check, update } from "../../src/client/ops/update.js";
import { isFerryError } from "../../src/core/errors.js";
import { serveRepository } from "../../src/server/static-server.js";
import { startHostileProxy } from "../../src/testing/hostile-proxy.js";
import { expectedTree, keys, publishVersions, readTree, sortedEntries, tempDir } from "../helpers/helpers.js";
import { repoFixture } from "../helpers/served-repo.js";

async function setup(t: Parameters<typeof tempDir>[0], versions: readonly (1 | 2 | 3)[] = [1]) {
  const { dir, repo, server, ...k } = await repoFixture(t);
  await publishVersions(dir, repo, k.key, versions);
  const install = join(dir, "install");
  return {
    dir,
    repo,
    key: k.key,
    pub: k.pub,
    publicText: k.publicText,
    server,
    install,
    run: (extra = {}) => update({ repoUrl: server.url, installDir: install, trust: [k.pub], ...extra }),
  };
}

async function assertTree(dir: string, version: 1 | 2 | 3, extra: Record<string, string> = {}) {
  const expected = expectedTree(version);
  for (const [k, v] of Object.entries(extra)) expected.set(k, v);
  const actual = await readTree(dir);
  assert.deepEqual(sortedEntries(actual), sortedEntries(expected));
}

async function rejects(promise: Promise<unknown>, code: string) {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(isFerryError(e), `expected a FerryError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

test("fresh install, then v1 -> v2 -> v3 downloads only what changed and keeps untracked files", async (t) => {
  const s = await setup(t, [1]);
  const fresh = await s.run();
  assert.equal(fresh.version, "1.0.0");
  assert.equal(fresh.previousVersion, null);
  await assertTree(s.install, 1);
  const fullRelease = fresh.bytesDownloaded;

  await mkdir(join(s.install, "saves"));
  await writeFile(join(s.install, "saves", "slot1.sav"), "progress");
  const untracked = {
    "saves/slot1.sav": `${(await import("node:crypto")).createHash("sha256").update("progress").digest("hex")} -`,
  };

  await publishVersions(s.dir, s.repo, s.key, [2]);
  const checked = await check({ repoUrl: s.server.url, installDir: s.install, trust: [s.pub] });
  assert.equal(checked.updateAvailable, true);
  assert.equal(checked.version, "2.0.0");
  const events: UpdateEvent[] = [];
  const v2 = await s.run({ onEvent: (e: UpdateEvent) => events.push(e) });
  await assertTree(s.install, 2, untracked);
  assert.equal(v2.previousVersion, "1.0.0");
  assert.equal(v2.filesDeleted, 1, "data/old-intro.txt is removed");
  assert.ok(
    v2.bytesDownloaded < fullRelease / 5,
    `update ${v2.bytesDownloaded} B should be far below the full ${fullRelease} B`,
  );
  assert.ok(v2.bytesReused > 1_000_000, "most of levels.pak is reused from disk despite the insertion");
  assert.equal(checked.downloadBytes + 0 <= v2.bytesDownloaded, true);
  assert.ok(events.some((e) => e.type === "plan") && events.some((e) => e.type === "commit"));

  const again = await s.run();
  assert.equal(again.upToDate, true);
  assert.equal(again.chunksFetched, 0);
  assert.equal(again.filesWritten, 0);
  assert.equal(again.requests, 1, "an up-to-date check is one request for the pointer");

  await publishVersions(s.dir, s.repo, s.key, [3]);
  await s.run();
  await assertTree(s.install, 3, untracked);
  const st = await status({ installDir: s.install });
  assert.equal(st.version, "3.0.0");
  assert.equal(st.serial, 3);
  assert.equal((await verify({ installDir: s.install })).ok, true);
});

test("v1 -> v3 directly equals publishing order-independent content", async (t) => {
  const s = await setup(t, [1]);
  await s.run();
  await publishVersions(s.dir, s.repo, s.key, [2, 3]);
  const result = await s.run();
  assert.equal(result.version, "3.0.0");
  await assertTree(s.install, 3);
  // Besides the state: the previous release kept for rollback and the update log (docs/ROLLBACK.md);
  // staging is gone.
  assert.deepEqual(await readdir(join(s.install, ".ferry")).then((n) => n.sort()), [
    "manifests",
    "previous",
    "state.json",
    "update-log.jsonl",
  ]);
});

test("a tampered pack is refused with E_HASH_MISMATCH and the install is unchanged", async (t) => {
  const s = await setup(t, [1]);
  await s.run();
  await publishVersions(s.dir, s.repo, s.key, [2]);
  const packs = (await readdir(join(s.repo, "packs"))).filter((n) => n.endsWith(".pack"));
  for (const name of packs) {
    const path = join(s.repo, "packs", name);
    const bytes = await readFile(path);
    for (let i = 0; i < bytes.length; i += 997) bytes[i] = bytes[i]! ^ 0xff;
    await writeFile(path, bytes);
  }
  await rejects(s.run(), "E_HASH_MISMATCH");
  await assertTree(s.install, 1);
  assert.equal((await status({ installDir: s.install })).version, "1.0.0");
});

test("a pointer signed by another key is refused with E_SIGNATURE", async (t) => {
  const s = await setup(t, [1]);
  await rejects(update({ repoUrl: s.server.url, installDir: s.install, trust: [keys().pub] }), "E_SIGNATURE");
  assert.deepEqual(await readTree(s.install), new Map());
});

test("a modified pointer (serial bumped without re-signing) is refused with E_SIGNATURE", async (t) => {
  const s = await setup(t, [1]);
  const path = join(s.repo, "channels", "stable.json");
  const doc = JSON.parse(await readFile(path, "utf8"));
  doc.signed.serial = 99;
  await writeFile(path, JSON.stringify(doc));
  await rejects(s.run(), "E_SIGNATURE");
});

test("an expired pointer is refused with E_EXPIRED", async (t) => {
  const s = await setup(t, [1]);
  const future = new Date(Date.UTC(2200, 0, 1));
  const clock = { now: () => future, sleep: async () => undefined };
  await rejects(s.run({ clock }), "E_EXPIRED");
  assert.deepEqual(await readTree(s.install), new Map());
});

test("a pointer with a lower serial than installed is refused with E_ROLLBACK", async (t) => {
  const s = await setup(t, [1, 2]);
  await s.run();
  // A second repository signed by the same key that only reached serial 1 (a stale mirror).
  const staleRepo = join(s.dir, "stale");
  await publishVersions(s.dir, staleRepo, s.key, [1]);
  const stale = await serveRepository({ root: staleRepo });
  t.after(() => stale.close());
  await rejects(update({ repoUrl: stale.url, installDir: s.install, trust: [s.pub] }), "E_ROLLBACK");
  await assertTree(s.install, 2);
});

test("an interrupted download resumes without downloading verified chunks again", async (t) => {
  const s = await setup(t, [1]);
  await s.run();
  // Chunks only: with deltas the plan is one small multi-range request, which is all-or-nothing
  // (test/client/deltas-e2e.test.ts covers resuming delta objects).
  await publishVersions(s.dir, s.repo, s.key, [2], { deltaHistory: 0 });
  const planned = (await check({ repoUrl: s.server.url, installDir: s.install, trust: [s.pub] }))
    .downloadBytes;
  // Every pack response breaks after 90% of the planned bytes: the update fails, but verified chunks are kept.
  const proxy = await startHostileProxy(s.server.url, {
    truncateAfterBytes: Math.floor(planned * 0.9),
    truncateCount: 1000,
  });
  t.after(() => proxy.close());
  const events: UpdateEvent[] = [];
  await rejects(
    update({
      repoUrl: proxy.url,
      installDir: s.install,
      trust: [s.pub],
      maxAttempts: 1,
      onEvent: (e) => events.push(e),
    }),
    "E_NETWORK",
  );
  await assertTree(s.install, 1);
  const plan = events.find((e) => e.type === "plan");
  assert.ok(plan?.type === "plan");
  const staged = await readdir(join(s.install, ".ferry", "staging", "chunks"));
  assert.ok(staged.length >= 1, "chunks that arrived before the break are kept");
  const resumed = await s.run();
  await assertTree(s.install, 2);
  assert.equal(
    resumed.chunksFetched,
    plan.chunksToFetch - staged.length,
    "kept chunks are not downloaded again",
  );
});

test("transient failures (HTTP 503) of metadata and packs are retried with backoff", async (t) => {
  const s = await setup(t, [1]);
  const proxy = await startHostileProxy(s.server.url, { failFirst: 3, failStatus: 503 });
  t.after(() => proxy.close());
  const events: UpdateEvent[] = [];
  const clock = { now: () => new Date(), sleep: async () => undefined };
  const first = await update({
    repoUrl: proxy.url,
    installDir: s.install,
    trust: [s.pub],
    clock,
    onEvent: (e) => events.push(e),
  });
  assert.equal(first.version, "1.0.0");
  assert.equal(events.filter((e) => e.type === "retry").length, 3);
  await assertTree(s.install, 1);

  await publishVersions(s.dir, s.repo, s.key, [2]);
  const { rm } = await import("node:fs/promises");
  await rm(join(s.install, "sprites", "item_004.png"));
  // Fail every other request, so pack requests fail too; five attempts each get through.
  let requests = 0;
  const { HttpTransport } = await import("../../src/node/http-transport.js");
  const flaky = {
    async get(url: string, request?: { headers?: Readonly<Record<string, string>>; signal?: AbortSignal }) {
      requests++;
      if (requests % 2 === 1) {
        return {
          status: 503,
          url,
          header: () => undefined,
          body: (async function* () {})(),
          cancel: async () => undefined,
        };
      }
      return new HttpTransport().get(url, request);
    },
  };
  const retried: UpdateEvent[] = [];
  await update({
    repoUrl: s.server.url,
    installDir: s.install,
    trust: [s.pub],
    transport: flaky,
    clock,
    onEvent: (e) => retried.push(e),
  });
  await assertTree(s.install, 2);
  assert.ok(
    retried.some((e) => e.type === "retry" && e.url.endsWith(".pack")),
    "a pack request was retried",
  );
});

for (const ranges of ["pass", "no-multi", "none"] as const) {
  test(`a host with ranges=${ranges} is served correctly, degrading when needed and saying so`, async (t) => {
    const s = await setup(t, [1]);
    await s.run();
    // Losing files spread across the pack makes the repair fetch ranges with large gaps between them.
    const { rm } = await import("node:fs/promises");
    for (const i of ["002", "009", "017"]) await rm(join(s.install, "sprites", `item_${i}.png`));
    const proxy = await startHostileProxy(s.server.url, { ranges });
    t.after(() => proxy.close());
    const events: UpdateEvent[] = [];
    const result = await update({
      repoUrl: proxy.url,
      installDir: s.install,
      trust: [s.pub],
      onEvent: (e) => events.push(e),
    });
    await assertTree(s.install, 1);
    // A host that ignores every range answers the first (multi-range) request with the whole pack, which
    // already holds every needed chunk; the client only learns "multi-range is ignored" from it.
    const expected = { pass: ["multi"], "no-multi": ["single"], none: ["single", "full"] }[ranges];
    assert.ok(expected.includes(result.rangeMode), `range mode ${result.rangeMode}`);
    assert.equal(
      events.some((e) => e.type === "range-mode"),
      ranges !== "pass",
      "a downgrade is reported as an event",
    );
    if (ranges === "pass")
      assert.ok(
        proxy.stats.rangeHeaders.some((h) => h.includes(",")),
        "a multi-range request was made",
      );
  });
}

test("an existing copy without Ferry state is adopted: only the difference is downloaded", async (t) => {
  const s = await setup(t, [1, 2]);
  await cp(join(s.dir, "build-v1"), s.install, { recursive: true });
  const result = await s.run();
  await assertTree(s.install, 2, { "data/old-intro.txt": expectedTree(1).get("data/old-intro.txt")! });
  assert.equal(result.filesDeleted, 0, "files of the adopted copy are untracked, so never deleted");
  assert.ok(result.bytesHashed > 0);
  assert.ok(result.bytesDownloaded < 300_000, `adoption downloaded ${result.bytesDownloaded} B`);
});

test("verify reports damage and update restores only the damaged file", async (t) => {
  const s = await setup(t, [1]);
  await s.run();
  await writeFile(join(s.install, "messages", "de.properties"), "garbage");
  const { rm } = await import("node:fs/promises");
  await rm(join(s.install, "sprites", "item_005.png"));
  const v = await verify({ installDir: s.install });
  assert.equal(v.ok, false);
  assert.deepEqual(v.problems.map((p) => `${p.problem} ${p.path}`).sort(), [
    "changed messages/de.properties",
    "missing sprites/item_005.png",
  ]);
  const repaired = await s.run();
  assert.equal(repaired.filesWritten, 2);
  await assertTree(s.install, 1);
});

test("a second updater fails with E_LOCKED; a lock left by a dead process is recovered", async (t) => {
  const s = await setup(t, [1]);
  await mkdir(join(s.install, ".ferry"), { recursive: true });
  const { hostname } = await import("node:os");
  await writeFile(
    join(s.install, ".ferry", "lock"),
    JSON.stringify({ pid: process.pid, host: hostname(), started: "" }),
  );
  await rejects(s.run(), "E_LOCKED");
  await writeFile(
    join(s.install, ".ferry", "lock"),
    JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), started: "" }),
  );
  await s.run();
  await assertTree(s.install, 1);
});

test("two concurrent updaters: one runs, the other fails with E_LOCKED (or waits when asked to)", async (t) => {
  const s = await setup(t, [1]);
  const proxy = await startHostileProxy(s.server.url, { delayMs: 100 });
  t.after(() => proxy.close());
  const slow = update({ repoUrl: proxy.url, installDir: s.install, trust: [s.pub] });
  // Wait until the first updater holds the lock (a fixed sleep raced with it on a loaded machine); its
  // every download is delayed 100 ms, so it still holds it when the second one starts.
  const lock = join(s.install, ".ferry", "lock");
  const deadline = Date.now() + 20_000;
  while (!(await stat(lock).catch(() => undefined))) {
    assert.ok(Date.now() < deadline, "the first updater never took the lock");
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await rejects(s.run(), "E_LOCKED");
  const waiting = s.run({ lockWaitMs: 30_000 });
  assert.equal((await slow).version, "1.0.0");
  assert.equal((await waiting).upToDate, true);
  await assertTree(s.install, 1);
});

test("cancelling with an AbortSignal stops the update with E_ABORTED and leaves the install unchanged", async (t) => {
  const s = await setup(t, [1]);
  await s.run();
  await publishVersions(s.dir, s.repo, s.key, [2]);
  const proxy = await startHostileProxy(s.server.url, { delayMs: 200 });
  t.after(() => proxy.close());
  const controller = new AbortController();
  const running = update({
    repoUrl: proxy.url,
    installDir: s.install,
    trust: [s.pub],
    signal: controller.signal,
    onEvent: (e) => {
      if (e.type === "plan") controller.abort();
    },
  });
  await rejects(running, "E_ABORTED");
  await assertTree(s.install, 1);
  assert.equal((await s.run()).version, "2.0.0");
});

test("a host that ignores multi-range (like S3) costs one whole-pack download, not one per request", async (t) => {
  const { dir, server, publish, ...k } = await repoFixture(t);
  const { pseudoRandom } = await import("../../src/testing/game-fixture.js");
  const tiles = new Map<string, Buffer>();
  for (let i = 0; i < 600; i++)
    tiles.set(`tile_${String(i).padStart(3, "0")}.png`, pseudoRandom(`tile${i}`, 20_000));
  await publish(tiles, { build: "build", version: "1" });
  const install = join(dir, "install");
  await update({ repoUrl: server.url, installDir: install, trust: [k.pub] });
  // Losing every other tile needs 300 separate ranges: more than one multi-range request's worth.
  const { rm } = await import("node:fs/promises");
  for (let i = 0; i < 600; i += 2) await rm(join(install, `tile_${String(i).padStart(3, "0")}.png`));
  const proxy = await startHostileProxy(server.url, { ranges: "no-multi" });
  t.after(() => proxy.close());
  const result = await update({ repoUrl: proxy.url, installDir: install, trust: [k.pub] });
  assert.equal(result.filesWritten, 300);
  assert.equal(result.rangeMode, "single");
  const packRequests = proxy.stats.paths.filter((p) => p.endsWith(".pack")).length;
  assert.equal(packRequests, 1, `pack requests: ${packRequests}`);
  assert.equal((await verify({ installDir: install })).ok, true);
});
