import "../../src/register-node.js";
import assert from "node:assert/strict";
import { cp, readdir } from "node:fs/promises";
import { join } from "node:path";
import { after, test } from "node:test";
import type { LifecycleEvent } from "../../src/client/events.js";
import { InstallLayout } from "../../src/client/install/layout.js";
import { createUpdater, type LifecycleOptions, type Updater } from "../../src/client/ops/lifecycle.js";
import { isFerryError } from "../../src/core/errors.js";
import type { LifecycleState } from "../../src/core/lifecycle.js";
import {
  expectedTree,
  readTree,
  sortedEntries,
  tempDir,
  v1InstallWithV2Published,
} from "../helpers/helpers.js";

/**
 * One repository for the whole file (publishing dominates the run time): v1 and v2 published, the
 * channel at v2, and a v1 install to copy per test.
 */
const shared = v1InstallWithV2Published({ after: (fn) => after(fn) });

async function setup(t: Parameters<typeof tempDir>[0], start: "empty" | "v1") {
  const fixture = await shared;
  const install = join(await tempDir(t), "install");
  if (start === "v1") await cp(fixture.template, install, { recursive: true });
  const options: LifecycleOptions = {
    repoUrl: fixture.server.url,
    installDir: install,
    trust: [fixture.pub],
  };
  return { install, options };
}

/** Records states and progress events of an updater. */
function record(updater: Updater) {
  const states: LifecycleState[] = [updater.state];
  const progress: Extract<LifecycleEvent, { type: "progress" }>[] = [];
  updater.subscribe((event) => {
    if (event.type === "state") states.push(event.state);
    if (event.type === "progress") progress.push(event);
  });
  return { states, progress };
}

async function stopped(promise: Promise<unknown>, reason: "cancel" | "pause") {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(isFerryError(e, "E_ABORTED"), String(e));
    assert.equal(e.data.reason, reason);
    return true;
  });
}

test("check then update: idle, checking, available, downloading, verifying, applying, done, with progress", async (t) => {
  const s = await setup(t, "empty");
  const updater = createUpdater(s.options);
  const { states, progress } = record(updater);
  const answer = await updater.check();
  assert.equal(answer.updateAvailable, true);
  assert.ok(answer.downloadBytes > 0);
  const summary = await updater.update();
  assert.equal(summary.version, "2.0.0");
  assert.deepEqual(states, ["idle", "checking", "available", "downloading", "verifying", "applying", "done"]);
  const downloads = progress.filter((p) => p.phase === "downloading");
  assert.ok(downloads.length >= 2, `${downloads.length} download progress events`);
  const last = downloads[downloads.length - 1]!;
  assert.equal(last.bytesDone, last.bytesTotal);
  // The fetcher counts wire bytes: multi-range framing adds a little to the planned payload.
  assert.ok(
    last.bytesTotal >= answer.downloadBytes && last.bytesTotal < answer.downloadBytes * 1.01,
    `${last.bytesTotal} bytes downloaded, ${answer.downloadBytes} planned`,
  );
  const verifying = progress.filter((p) => p.phase === "verifying");
  assert.equal(verifying[verifying.length - 1]!.filesDone, verifying[verifying.length - 1]!.filesTotal);
  assert.ok(progress.some((p) => p.phase === "applying"));
  assert.deepEqual(sortedEntries(await readTree(s.install)), sortedEntries(expectedTree(2)));
  // A second check: up to date.
  assert.equal((await updater.check()).updateAvailable, false);
  assert.equal(updater.state, "up-to-date");
});

for (const phase of ["checking", "downloading", "verifying"] as const) {
  for (const request of ["cancel", "pause"] as const) {
    test(`${request} while ${phase} leaves the v1 install unchanged, and a later update completes`, async (t) => {
      const s = await setup(t, "v1");
      const updater = createUpdater(s.options);
      const { states } = record(updater);
      let asked: boolean | undefined;
      updater.subscribe((event) => {
        if (event.type === "state" && event.state === phase && asked === undefined)
          asked = request === "cancel" ? updater.cancel() : updater.pause();
      });
      const run = phase === "checking" ? updater.check() : updater.update();
      // A pause while checking is a cancel (nothing to keep); elsewhere it keeps the staged chunks.
      const expected = request === "pause" && phase !== "checking" ? "paused" : "cancelled";
      await stopped(run, phase === "checking" ? "cancel" : request);
      assert.equal(asked, true);
      assert.equal(updater.state, expected);
      assert.equal(states[states.length - 1], expected);
      assert.deepEqual(sortedEntries(await readTree(s.install)), sortedEntries(expectedTree(1)));
      const summary = expected === "paused" ? await updater.resume() : await updater.update();
      assert.equal(summary.version, "2.0.0");
      assert.equal(updater.state, "done");
      assert.deepEqual(sortedEntries(await readTree(s.install)), sortedEntries(expectedTree(2)));
    });
  }
}

test("pause mid-download keeps verified chunks: resume downloads only the rest", async (t) => {
  const s = await setup(t, "empty");
  const updater = createUpdater(s.options);
  const total = (await updater.check()).downloadBytes;
  let pausedAt = 0;
  updater.subscribe((event) => {
    if (event.type === "progress" && event.phase === "downloading" && event.bytesDone > 0 && pausedAt === 0) {
      pausedAt = event.bytesDone;
      assert.equal(updater.pause(), true);
    }
  });
  await stopped(updater.update(), "pause");
  assert.equal(updater.state, "paused");
  assert.ok(pausedAt > 0 && pausedAt < total, `paused at ${pausedAt} of ${total}`);
  assert.deepEqual(await readTree(s.install), new Map(), "nothing installed while paused");
  const staged = await readdir(new InstallLayout(s.install).stagedChunks);
  assert.ok(staged.length > 0, "verified chunks are kept in staging");
  const summary = await updater.resume();
  assert.ok(
    summary.bytesDownloaded - summary.metadataBytes < total,
    `resume downloaded ${summary.bytesDownloaded - summary.metadataBytes} of ${total} payload bytes`,
  );
  assert.deepEqual(sortedEntries(await readTree(s.install)), sortedEntries(expectedTree(2)));
});

test("cancel once applying is refused: the commit completes and the install is exactly new", async (t) => {
  const s = await setup(t, "v1");
  const updater = createUpdater(s.options);
  let answer: boolean | undefined;
  updater.subscribe((event) => {
    if (event.type === "state" && event.state === "applying") answer = updater.cancel();
  });
  const summary = await updater.update();
  assert.equal(answer, false);
  assert.equal(summary.version, "2.0.0");
  assert.equal(updater.state, "done");
  assert.deepEqual(sortedEntries(await readTree(s.install)), sortedEntries(expectedTree(2)));
});

test("a failing update moves to failed with the error's code; starting twice is refused", async (t) => {
  const s = await setup(t, "empty");
  const updater = createUpdater({ ...s.options, repoUrl: `${s.options.repoUrl}missing/`, maxAttempts: 1 });
  const { states } = record(updater);
  const running = updater.check();
  await assert.rejects(updater.update(), (e: unknown) => isFerryError(e, "E_USAGE"));
  await assert.rejects(running, (e: unknown) => isFerryError(e, "E_HTTP"));
  assert.deepEqual(states, ["idle", "checking", "failed"]);
  assert.equal(updater.snapshot().error?.code, "E_HTTP");
  assert.equal(updater.cancel(), false, "nothing runs");
});

test("an update staged for the next start ends in done through verifying and applying; files unchanged", async (t) => {
  const s = await setup(t, "v1");
  const updater = createUpdater({ ...s.options, applyOn: "next-start" });
  const { states } = record(updater);
  const summary = await updater.update();
  assert.equal(summary.pending, true);
  assert.deepEqual(states, ["idle", "downloading", "verifying", "applying", "done"]);
  assert.deepEqual(sortedEntries(await readTree(s.install)), sortedEntries(expectedTree(1)));
  assert.ok((await readdir(join(s.install, ".ferry"))).includes("pending.json"));
});
