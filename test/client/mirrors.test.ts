import "../../src/register-node.js";
import assert from "node:assert/strict";
import { cp, readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, test } from "node:test";
import type { UpdateEvent } from "../../src/client/events.js";
import { check, update } from "../../src/client/ops/update.js";
import { serveRepository } from "../../src/server/static-server.js";
import { type Behaviour, pass, startHostileServer } from "../../src/testing/hostile-server.js";
import { expectedTree, keys, publishVersions, readTree, sortedEntries, tempDir } from "../helpers/helpers.js";

/** A loopback URL nothing listens on (connection refused). */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/`;
}

/**
 * Origin repository at v2 (v1's pointer kept aside), served; a v1 install to copy per case. Mirror
 * tests put a misbehaving first mirror in front and the origin second.
 */
async function setupOnce(t: Parameters<typeof tempDir>[0]) {
  const dir = await tempDir(t);
  const repo = join(dir, "repo");
  const k = keys();
  await publishVersions(dir, repo, k.key, [1]);
  const v1Pointer = await readFile(join(repo, "channels", "stable.json"));
  const origin = await serveRepository({ root: repo });
  t.after(() => origin.close());
  const template = join(dir, "template");
  await update({ repoUrl: origin.url, installDir: template, trust: [k.pub] });
  await publishVersions(dir, repo, k.key, [2]);
  let n = 0;
  const install = async () => {
    const target = join(dir, `install-${++n}`);
    await cp(template, target, { recursive: true });
    return target;
  };
  return { dir, origin, v1Pointer, install, ...k };
}

/** One origin for the whole file (publishing twice is the slow part); each case copies the install. */
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});
let shared: ReturnType<typeof setupOnce> | undefined;
function setup(_t: unknown): ReturnType<typeof setupOnce> {
  shared ??= setupOnce({ after: (fn) => void cleanups.push(fn) });
  return shared;
}

async function hostileMirror(t: Parameters<typeof tempDir>[0], upstream: string, behaviour: Behaviour) {
  const mirror = await startHostileServer(upstream, behaviour);
  t.after(() => mirror.close());
  return mirror;
}

test("mirrors: the first mirror is down -> every object comes from the second; exact tree", async (t) => {
  const s = await setup(t);
  const events: UpdateEvent[] = [];
  const installDir = await s.install();
  const result = await update({
    repoUrl: await deadUrl(),
    mirrors: [s.origin.url],
    installDir,
    trust: [s.pub],
    onEvent: (e) => events.push(e),
  });
  assert.equal(result.version, "2.0.0");
  assert.deepEqual(sortedEntries(await readTree(installDir)), sortedEntries(expectedTree(2)));
  const moved = events.filter((e) => e.type === "mirror");
  assert.ok(moved.length > 0 && moved.every((e) => e.type === "mirror" && e.code === "E_NETWORK"));
  assert.equal(events.filter((e) => e.type === "retry").length, 0, "no backoff while another mirror answers");
});

test("mirrors: the first mirror serves a corrupted pack -> those chunks come from the second; exact tree", async (t) => {
  const s = await setup(t);
  const mirror = await hostileMirror(t, s.origin.url, async (exchange, context) => {
    const answer = await context.upstream();
    if (exchange.kind !== "pack" || answer.body.length < 64) return { ...answer };
    const body = Buffer.from(answer.body);
    for (let i = 16; i < body.length; i += 4096) body[i] = body[i]! ^ 0xff;
    return { ...answer, body };
  });
  const events: UpdateEvent[] = [];
  const installDir = await s.install();
  const result = await update({
    repoUrl: mirror.url,
    mirrors: [s.origin.url],
    installDir,
    trust: [s.pub],
    rangeMode: "single",
    onEvent: (e) => events.push(e),
  });
  assert.equal(result.version, "2.0.0");
  assert.deepEqual(sortedEntries(await readTree(installDir)), sortedEntries(expectedTree(2)));
  assert.ok(
    mirror.log.some((x) => x.kind === "pack"),
    "the first mirror was asked for packs",
  );
  assert.ok(
    events.some((e) => e.type === "mirror" && e.path.startsWith("packs/") && e.to === s.origin.url),
    JSON.stringify(events.filter((e) => e.type === "mirror")),
  );
});

test("mirrors: the first mirror serves a corrupted manifest -> the pinned manifest comes from the second", async (t) => {
  const s = await setup(t);
  const mirror = await hostileMirror(t, s.origin.url, async (exchange, context) => {
    const answer = await context.upstream();
    if (exchange.kind !== "manifest") return { ...answer };
    const body = Buffer.from(answer.body);
    body[body.length >> 1] = body[body.length >> 1]! ^ 1;
    return { ...answer, body };
  });
  const events: UpdateEvent[] = [];
  const installDir = await s.install();
  const result = await update({
    repoUrl: mirror.url,
    mirrors: [s.origin.url],
    installDir,
    trust: [s.pub],
    onEvent: (e) => events.push(e),
  });
  assert.equal(result.version, "2.0.0");
  assert.deepEqual(sortedEntries(await readTree(installDir)), sortedEntries(expectedTree(2)));
  assert.ok(events.some((e) => e.type === "mirror" && e.code === "E_HASH_MISMATCH"));
});

test("mirrors: a stale pointer on the first mirror neither holds the client back nor says 'up to date'", async (t) => {
  const s = await setup(t);
  const stale: Behaviour = async (exchange, context) =>
    exchange.kind === "pointer"
      ? { status: 200, headers: { "content-type": "application/json" }, body: s.v1Pointer }
      : { ...(await context.upstream()) };
  const mirror = await hostileMirror(t, s.origin.url, stale);
  const installDir = await s.install();
  const options = { repoUrl: mirror.url, mirrors: [s.origin.url], installDir, trust: [s.pub] };
  // Without the origin, the stale mirror alone would say "up to date": the test's premise.
  const alone = await check({ ...options, mirrors: [] });
  assert.equal(alone.updateAvailable, false);
  const checked = await check(options);
  assert.equal(checked.updateAvailable, true);
  assert.equal(checked.version, "2.0.0");
  const result = await update(options);
  assert.equal(result.upToDate, false);
  assert.equal(result.version, "2.0.0");
  assert.deepEqual(sortedEntries(await readTree(installDir)), sortedEntries(expectedTree(2)));
  // Order does not matter: the origin first and the stale mirror second gives the same answer.
  const other = await s.install();
  const reversed = await update({
    ...options,
    repoUrl: s.origin.url,
    mirrors: [mirror.url],
    installDir: other,
  });
  assert.equal(reversed.version, "2.0.0");
  assert.deepEqual(sortedEntries(await readTree(other)), sortedEntries(expectedTree(2)));
});

test("mirrors: a forged pointer with a higher serial on the first mirror is ignored; the valid one wins", async (t) => {
  const s = await setup(t);
  const origin = await fetch(new URL("channels/stable.json", s.origin.url)).then(async (r) =>
    Buffer.from(await r.arrayBuffer()),
  );
  const forged = Buffer.from(origin.toString("utf8").replace(/"serial":\s*2/, '"serial":99'));
  assert.notDeepEqual(forged, origin, "the forgery changed the serial");
  const mirror = await hostileMirror(t, s.origin.url, async (exchange, context) =>
    exchange.kind === "pointer"
      ? { status: 200, headers: { "content-type": "application/json" }, body: forged }
      : { ...(await context.upstream()) },
  );
  const events: UpdateEvent[] = [];
  const installDir = await s.install();
  const result = await update({
    repoUrl: mirror.url,
    mirrors: [s.origin.url],
    installDir,
    trust: [s.pub],
    onEvent: (e) => events.push(e),
  });
  assert.equal(result.serial, 2);
  assert.deepEqual(sortedEntries(await readTree(installDir)), sortedEntries(expectedTree(2)));
  assert.ok(
    events.some((e) => e.type === "mirror" && e.path === "channels/stable.json" && e.code === "E_SIGNATURE"),
  );
});

test("mirrors: when every mirror fails, the error is reported (no silent success)", async (t) => {
  const s = await setup(t);
  const installDir = await s.install();
  await assert.rejects(
    update({
      repoUrl: await deadUrl(),
      mirrors: [await deadUrl()],
      installDir,
      trust: [s.pub],
      maxAttempts: 2,
    }),
    (e: unknown) => (e as { code?: string }).code === "E_NETWORK",
  );
  void pass;
});

test("one URL: a pointer answered 503 is retried as before; with two mirrors both failing once, the fallback round retries", async (t) => {
  const s = await setup(t);
  const flaky: Behaviour = async (exchange, context) =>
    exchange.kind === "pointer" && exchange.n === 0
      ? { status: 503, headers: {}, body: Buffer.alloc(0) }
      : { ...(await context.upstream()) };
  const first = await hostileMirror(t, s.origin.url, flaky);
  const events: UpdateEvent[] = [];
  const sleepless = { clock: { now: () => new Date(), sleep: async () => undefined } };
  const alone = await check({
    repoUrl: first.url,
    installDir: await s.install(),
    trust: [s.pub],
    onEvent: (e) => events.push(e),
    ...sleepless,
  });
  assert.equal(alone.version, "2.0.0");
  assert.equal(events.filter((e) => e.type === "retry").length, 1);

  first.setBehaviour(flaky);
  const second = await hostileMirror(t, s.origin.url, flaky);
  const both = await check({
    repoUrl: first.url,
    mirrors: [second.url],
    installDir: await s.install(),
    trust: [s.pub],
    ...sleepless,
  });
  assert.equal(both.version, "2.0.0");
  assert.equal(
    first.log.filter((x) => x.kind === "pointer").length,
    2,
    "asked once alone, then in the fallback round",
  );
});
