import "../../src/register-node.js";
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { startBackgroundChecks } from "../../src/client/ops/background-check.js";
import { cachedCheck, type CachedCheckOptions } from "../../src/client/ops/check-cache.js";
import { check, update } from "../../src/client/ops/update.js";
import { isFerryError } from "../../src/core/errors.js";
import type { Clock } from "../../src/ports/clock.js";
import type { RunningServer } from "../../src/server/static-server.js";
import { publishVersions, type tempDir } from "../helpers/helpers.js";
import { repoFixture } from "../helpers/served-repo.js";

/** A clock the test moves by hand; sleeping advances it (no real waiting). */
function manualClock(start = Date.UTC(2026, 5, 1)): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => new Date(now),
    advance(ms) {
      now += ms;
    },
    async sleep(ms, signal) {
      if (signal?.aborted) throw new Error("aborted");
      now += ms;
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

/** The fixture's repository server, recording every request: path, If-None-Match and status. */
function countingServer(server: RunningServer) {
  const log: { path: string; ifNoneMatch: string | undefined; status: number }[] = [];
  server.server.on("request", (req, res) => {
    res.on("finish", () =>
      log.push({
        path: req.url ?? "",
        ifNoneMatch: req.headers["if-none-match"] as string | undefined,
        status: res.statusCode,
      }),
    );
  });
  return { server, log };
}

async function setup(t: Parameters<typeof tempDir>[0]) {
  const { dir, repo, ...k } = await repoFixture(t);
  await publishVersions(dir, repo, k.key, [1]);
  const { server, log } = countingServer(k.server);
  const install = join(dir, "install");
  const clock = manualClock();
  const options: CachedCheckOptions = { repoUrl: server.url, installDir: install, trust: [k.pub], clock };
  await update(options);
  await publishVersions(dir, repo, k.key, [2]);
  log.length = 0;
  return { dir, repo, key: k.key, server, log, install, clock, options };
}

test("two checks within maxAge make one request; after it a 304 revalidates; a new release is seen", async (t) => {
  const s = await setup(t);
  const maxAgeMs = 60_000;
  const first = await cachedCheck({ ...s.options, maxAgeMs });
  assert.equal(first.source, "network");
  assert.equal(first.updateAvailable, true);
  assert.equal(first.version, "2.0.0");
  const plain = await check(s.options);
  assert.equal(
    first.downloadBytes,
    plain.downloadBytes,
    "the cached check reports the bytes an update needs",
  );
  assert.ok(first.downloadBytes > 0);
  s.log.length = 0;

  const firstRequests = await (async () => {
    const again = await cachedCheck({ ...s.options, maxAgeMs });
    assert.equal(again.source, "cache");
    assert.equal(again.downloadBytes, first.downloadBytes);
    return s.log.length;
  })();
  assert.equal(firstRequests, 0, "the second check inside the interval makes no request");

  s.clock.advance(maxAgeMs + 1);
  const third = await cachedCheck({ ...s.options, maxAgeMs });
  assert.equal(third.source, "not-modified");
  assert.equal(third.version, "2.0.0");
  assert.deepEqual(
    s.log.map((r) => [r.path.replace(/.*\//, ""), r.status, r.ifNoneMatch !== undefined]),
    [["stable.json", 304, true]],
    "one conditional request for the pointer, answered 304",
  );

  await publishVersions(s.dir, s.repo, s.key, [3]);
  s.log.length = 0;
  s.clock.advance(maxAgeMs + 1);
  const fourth = await cachedCheck({ ...s.options, maxAgeMs });
  assert.equal(fourth.source, "network");
  assert.equal(fourth.version, "3.0.0");
  assert.equal(s.log[0]!.status, 200, "the changed pointer is sent again despite If-None-Match");
  assert.equal(
    s.log.filter((r) => r.path.endsWith("stable.json")).length,
    1,
    "the pointer is fetched once (replayed to the verified check)",
  );
});

test("offline: the cached answer with its age; without a cache the network error surfaces", async (t) => {
  const s = await setup(t);
  const first = await cachedCheck({ ...s.options, maxAgeMs: 1000 });
  assert.equal(first.source, "network");
  await s.server.close();
  s.clock.advance(90_000);
  const offline = await cachedCheck({ ...s.options, maxAgeMs: 1000, maxAttempts: 1 });
  assert.equal(offline.source, "offline");
  assert.equal(offline.ageMs, 90_000);
  assert.equal(offline.offlineError?.code, "E_NETWORK");
  assert.equal(offline.version, "2.0.0");
  const fresh = join(s.dir, "other-install");
  await assert.rejects(cachedCheck({ ...s.options, installDir: fresh, maxAttempts: 1 }), (e: unknown) =>
    isFerryError(e, "E_NETWORK"),
  );
});

test("an update invalidates the cached answer", async (t) => {
  const s = await setup(t);
  assert.equal((await cachedCheck({ ...s.options, maxAgeMs: 3_600_000 })).updateAvailable, true);
  await update(s.options);
  const after = await cachedCheck({ ...s.options, maxAgeMs: 3_600_000 });
  assert.equal(after.source, "network");
  assert.equal(after.updateAvailable, false);
});

test("the background checker runs on the injected clock until stop(), reporting results and errors", async (t) => {
  const s = await setup(t);
  const results: string[] = [];
  const errors: unknown[] = [];
  let calls = 0;
  const checker = startBackgroundChecks({
    intervalMs: 60_000,
    clock: s.clock,
    check: async (signal) => {
      calls++;
      if (calls === 2) throw new Error("flaky");
      return cachedCheck({ ...s.options, maxAgeMs: 30_000, signal });
    },
    onResult: (answer) => results.push(answer.source),
    onError: (error) => errors.push(error),
  });
  while (results.length + errors.length < 4) await new Promise((resolve) => setTimeout(resolve, 5));
  await checker.stop();
  const stoppedAt = calls;
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(calls, stoppedAt, "no check after stop()");
  assert.equal(errors.length, 1);
  // First a full check, then (each interval past maxAge) 304 revalidations.
  assert.deepEqual(results.slice(0, 3), ["network", "not-modified", "not-modified"]);
  assert.throws(
    () =>
      startBackgroundChecks({
        ...{ intervalMs: 0, clock: s.clock },
        check: async () => 1,
        onResult() {},
        onError() {},
      }),
    (e: unknown) => isFerryError(e, "E_USAGE"),
  );
});
