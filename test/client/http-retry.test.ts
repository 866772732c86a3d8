import "../../src/register-node.js";
import assert from "node:assert/strict";
import { test } from "node:test";
import { FerryError } from "../../src/core/errors.js";
import {
  backoffMs,
  httpError,
  MAX_RETRY_AFTER_MS,
  parseRetryAfter,
  retryDelayMs,
  withRetries,
} from "../../src/client/remote/http.js";
import { MirrorSet, withMirrors } from "../../src/client/remote/mirrors.js";
import { classify, retrying } from "../../src/client/remote/retry.js";

const now = new Date("2026-01-01T00:00:00Z");

test("parseRetryAfter: delay-seconds, HTTP-date, invalid", () => {
  assert.equal(parseRetryAfter("2", now), 2000);
  assert.equal(parseRetryAfter(" 0 ", now), 0);
  assert.equal(parseRetryAfter("Thu, 01 Jan 2026 00:00:05 GMT", now), 5000);
  assert.equal(parseRetryAfter("Wed, 31 Dec 2025 23:59:00 GMT", now), 0, "a date in the past: retry now");
  assert.equal(parseRetryAfter("soon", now), undefined);
  assert.equal(parseRetryAfter("-3", now), undefined);
  assert.equal(parseRetryAfter(undefined, now), undefined);
});

test("retryDelayMs honours Retry-After up to the bound, else gives up; backoff without it", () => {
  assert.equal(retryDelayMs(1, httpError("u", 429, "x", 1500)), 1500);
  assert.equal(retryDelayMs(1, httpError("u", 503, "x", MAX_RETRY_AFTER_MS)), MAX_RETRY_AFTER_MS);
  assert.equal(retryDelayMs(1, httpError("u", 503, "x", MAX_RETRY_AFTER_MS + 1)), undefined);
  assert.equal(retryDelayMs(3, httpError("u", 503, "x")), backoffMs(3));
});

test("withRetries waits what the server asked, and stops at once when it asks too much", async () => {
  const sleeps: number[] = [];
  const policy = { maxAttempts: 5, sleep: async (ms: number) => void sleeps.push(ms) };
  let calls = 0;
  const value = await withRetries(policy, async () => {
    if (++calls < 3) throw httpError("u", 429, "x", 2000);
    return "done";
  });
  assert.equal(value, "done");
  assert.deepEqual(sleeps, [2000, 2000]);
  calls = 0;
  await assert.rejects(
    withRetries(policy, async () => {
      calls++;
      throw httpError("u", 503, "x", 3_600_000);
    }),
    (e: unknown) => e instanceof FerryError && e.code === "E_HTTP",
  );
  assert.equal(calls, 1, "a Retry-After beyond the bound is not waited for");
});

const quick = { maxAttempts: 4, sleep: async () => undefined };
const mismatch = (url: string) => new FerryError("E_HASH_MISMATCH", `bad bytes at ${url}`, { url });

test("retrying: damaged bytes of a content-addressed object are fetched again; other objects fail at once", async () => {
  let calls = 0;
  const target = (contentAddressed: boolean) => ({ what: "object x", contentAddressed, source: () => "u" });
  const value = await retrying(quick, target(true), async () => {
    if (++calls < 3) throw mismatch("u");
    return "intact";
  });
  assert.equal(value, "intact");
  assert.equal(calls, 3);
  calls = 0;
  await assert.rejects(
    retrying(quick, target(false), async () => {
      calls++;
      throw mismatch("u");
    }),
    (e: unknown) => e instanceof FerryError && e.code === "E_HASH_MISMATCH",
  );
  assert.equal(calls, 1, "a pointer or other unhashed object is not retried on a mismatch");
  // An answer longer than the object is not asked for again from the same source.
  calls = 0;
  await assert.rejects(
    retrying(quick, target(true), async () => {
      calls++;
      throw new FerryError("E_RANGE", "too long", { url: "u", overrun: true });
    }),
  );
  assert.equal(calls, 1);
});

test("classify: a slow request is transient, an operation past its deadline is final", () => {
  const slow = (scope: string) => new FerryError("E_TIMEOUT", "slow", { scope });
  assert.equal(classify(slow("request"), false), "transient");
  assert.equal(classify(slow("operation"), true), "permanent");
  assert.equal(classify(mismatch("u"), true), "corrupt");
  assert.equal(classify(new Error("bug"), true), "permanent");
});

test("withMirrors: damaged bytes move to the next mirror; the final error names every source tried", async () => {
  const set = new MirrorSet(["http://a.test/", "http://b.test/"]);
  const events: unknown[] = [];
  const policy = { ...quick, maxAttempts: 2, emit: (e: unknown) => void events.push(e) };
  const urls: string[] = [];
  const object = { what: "tree object", contentAddressed: true };
  await assert.rejects(
    withMirrors(
      set.cursor("objects/ab"),
      "objects/ab",
      policy,
      async (url) => {
        urls.push(url);
        throw mismatch(url);
      },
      object,
    ),
    (e: unknown) => {
      assert.ok(e instanceof FerryError);
      assert.equal(e.code, "E_HASH_MISMATCH");
      assert.equal(e.data.attempts, 4);
      assert.match(e.message, /tree object after 4 attempts/);
      assert.match(e.message, /http:\/\/a\.test\/objects\/ab E_HASH_MISMATCH; http:\/\/b\.test\/objects\/ab/);
      return true;
    },
  );
  assert.deepEqual(urls, [
    "http://a.test/objects/ab",
    "http://b.test/objects/ab",
    "http://a.test/objects/ab",
    "http://b.test/objects/ab",
  ]);
  assert.equal(events.length, 2, "one mirror event per switch within a round");
});

test("retrying stops at once when the operation is cancelled or past its deadline", async () => {
  const controller = new AbortController();
  let calls = 0;
  await assert.rejects(
    retrying(
      { ...quick, signal: controller.signal },
      { what: "x", contentAddressed: true, source: () => "u" },
      async () => {
        calls++;
        controller.abort();
        throw new FerryError("E_NETWORK", "reset", { url: "u" });
      },
    ),
    (e: unknown) => e instanceof FerryError && e.code === "E_NETWORK",
  );
  assert.equal(calls, 1);
});
