import "../../src/register-node.js";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { cp } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { status } from "../../src/client/ops/inspect.js";
import { update } from "../../src/client/ops/update.js";
import { isFerryError } from "../../src/core/errors.js";
import { NodeFileSystem } from "../../src/node/node-fs.js";
import { RenameRetryFileSystem } from "../../src/node/rename-retry.js";
import type { Clock } from "../../src/ports/clock.js";
import { FlakyRenameFileSystem } from "../../src/testing/flaky-rename-fs.js";
import { expectedTree, readTree, sortedEntries, v1InstallWithV2Published } from "../helpers/helpers.js";

/** Virtual time: sleeping advances it at once, and every pause is recorded. */
function fakeClock(): Clock & { sleeps: number[]; elapsed: () => number } {
  const start = Date.now();
  let now = start;
  const sleeps: number[] = [];
  return {
    now: () => new Date(now),
    sleep: (ms) => {
      sleeps.push(ms);
      now += ms;
      return Promise.resolve();
    },
    sleeps,
    elapsed: () => now - start,
  };
}

const MAX_WAIT = 5_000;
const v1 = JSON.stringify(sortedEntries(expectedTree(1)));
const v2 = JSON.stringify(sortedEntries(expectedTree(2)));

async function setup(t: Parameters<typeof v1InstallWithV2Published>[0]) {
  const s = await v1InstallWithV2Published(t);
  const install = join(s.dir, "install");
  await cp(s.template, install, { recursive: true });
  return { ...s, install };
}

test("the retry wrapper backs off exponentially and gives up within its bound", async () => {
  const clock = fakeClock();
  const flaky = new FlakyRenameFileSystem(new NodeFileSystem(), { times: Infinity, codes: ["EBUSY"] });
  const fs = new RenameRetryFileSystem(flaky, {
    clock,
    maxWaitMs: 2_000,
    initialDelayMs: 10,
    maxDelayMs: 500,
  });
  await assert.rejects(fs.rename("/nonexistent/a", "/nonexistent/b"), (e: unknown) => {
    assert.ok(isFerryError(e, "E_IO"), String(e));
    assert.equal(e.data.systemCode, "EBUSY");
    assert.ok(Number(e.data.waitedMs) <= 2_000);
    assert.match(e.message, /\/nonexistent\/a to \/nonexistent\/b/);
    assert.match(e.message, /antivirus/);
    return true;
  });
  assert.deepEqual(clock.sleeps.slice(0, 7), [10, 20, 40, 80, 160, 320, 500]);
  assert.ok(clock.elapsed() <= 2_000, `waited ${clock.elapsed()} ms`);
  assert.ok(clock.elapsed() > 1_000, "it did use most of its bound");
});

test("a rename failing with another error is not retried", async () => {
  const clock = fakeClock();
  const flaky = new FlakyRenameFileSystem(new NodeFileSystem(), { times: Infinity, codes: ["ENOENT"] });
  const fs = new RenameRetryFileSystem(flaky, { clock, maxWaitMs: MAX_WAIT });
  await assert.rejects(
    fs.rename("/x/a", "/x/b"),
    (e: unknown) => isFerryError(e, "E_IO") && e.data.systemCode === "ENOENT",
  );
  assert.deepEqual(clock.sleeps, []);
});

test("renames refused a few times (EPERM, EBUSY, EACCES) are retried and the update succeeds", async (t) => {
  const s = await setup(t);
  const clock = fakeClock();
  const flaky = new FlakyRenameFileSystem(new NodeFileSystem(), {
    times: 3,
    codes: ["EPERM", "EBUSY", "EACCES"],
  });
  const fs = new RenameRetryFileSystem(flaky, { clock, maxWaitMs: MAX_WAIT });
  const started = Date.now();
  await update({ repoUrl: s.server.url, installDir: s.install, trust: [s.pub], fs });
  assert.equal(JSON.stringify(sortedEntries(await readTree(s.install))), v2);
  assert.ok(fs.retriedRenames > 10, `renames that needed retries: ${fs.retriedRenames}`);
  t.diagnostic(
    `${flaky.failures} refused renames, ${fs.retriedRenames} renames retried to success; virtual wait ${clock.elapsed()} ms, real ${Date.now() - started} ms`,
  );
});

test("a rename refused for good before the commit fails typed after the bound; the install stays v1", async (t) => {
  const s = await setup(t);
  const clock = fakeClock();
  const flaky = new FlakyRenameFileSystem(new NodeFileSystem(), { times: Infinity, codes: ["EPERM"] });
  const fs = new RenameRetryFileSystem(flaky, { clock, maxWaitMs: MAX_WAIT });
  await assert.rejects(
    update({ repoUrl: s.server.url, installDir: s.install, trust: [s.pub], fs }),
    (e: unknown) => {
      assert.ok(isFerryError(e, "E_IO"), String(e));
      assert.equal(e.data.systemCode, "EPERM");
      assert.ok(Number(e.data.attempts) > 5);
      return true;
    },
  );
  assert.ok(clock.elapsed() <= MAX_WAIT, `gave up after ${clock.elapsed()} ms`);
  assert.equal(JSON.stringify(sortedEntries(await readTree(s.install))), v1);
  assert.equal((await status({ installDir: s.install })).version, "1.0.0");
  await update({ repoUrl: s.server.url, installDir: s.install, trust: [s.pub] });
  assert.equal(JSON.stringify(sortedEntries(await readTree(s.install))), v2);
});

test("a rename refused for good during the commit fails typed; once released, opening the install finishes v2", async (t) => {
  const s = await setup(t);
  const clock = fakeClock();
  // Only moves into the game's files are refused (the scanner holds the game directory).
  const flaky = new FlakyRenameFileSystem(new NodeFileSystem(), {
    times: Infinity,
    codes: ["EACCES"],
    which: (to) => !to.includes(".ferry"),
  });
  const fs = new RenameRetryFileSystem(flaky, { clock, maxWaitMs: MAX_WAIT });
  await assert.rejects(
    update({ repoUrl: s.server.url, installDir: s.install, trust: [s.pub], fs }),
    (e: unknown) => isFerryError(e, "E_IO"),
  );
  assert.ok(existsSync(join(s.install, ".ferry", "journal.json")), "the commit point was passed");
  // While the scanner still holds the files, opening fails typed too (and changes nothing more).
  await assert.rejects(status({ installDir: s.install, fs }), (e: unknown) => isFerryError(e, "E_IO"));
  flaky.release();
  assert.equal((await status({ installDir: s.install, fs })).version, "2.0.0");
  assert.equal(JSON.stringify(sortedEntries(await readTree(s.install))), v2);
});
