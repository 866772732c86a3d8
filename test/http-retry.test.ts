import assert from "node:assert/strict";
import { test } from "node:test";
import { FerryError } from "../src/core/errors.js";
import {
  backoffMs,
  httpError,
  MAX_RETRY_AFTER_MS,
  parseRetryAfter,
  retryDelayMs,
  withRetries,
} from "../src/client/http.js";

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
