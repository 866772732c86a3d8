import "../../src/register-node.js";
import assert from "node:assert/strict";
import { test } from "node:test";
import type { LifecycleEvent } from "../../src/client/events.js";
import { createUpdater } from "../../src/client/ops/lifecycle.js";
import type { SimulateMode } from "../../src/client/ops/simulate.js";
import { isFerryError } from "../../src/core/errors.js";
import type { LifecycleState } from "../../src/core/lifecycle.js";
import type { Clock } from "../../src/ports/clock.js";
import type { FileSystem } from "../../src/ports/fs.js";
import type { Transport } from "../../src/ports/transport.js";

/** Sleeping advances the clock at once. */
function fastClock(): Clock {
  let now = Date.UTC(2026, 0, 1);
  return {
    now: () => new Date(now),
    async sleep(ms, signal) {
      await new Promise((resolve) => setImmediate(resolve));
      if (signal?.aborted) throw new Error("aborted");
      now += ms;
    },
  };
}

/** Any use of the network or the disk fails the test. */
const noTransport: Transport = {
  get: (url) => assert.fail(`simulate made a request to ${url}`),
};
const noFs = new Proxy({} as FileSystem, {
  get: (_target, name) => () => assert.fail(`simulate touched the file system (${String(name)})`),
});

function simulated(mode: SimulateMode) {
  const updater = createUpdater({
    repoUrl: "http://127.0.0.1:9/",
    installDir: "/nonexistent/simulated",
    trust: [],
    clock: fastClock(),
    fs: noFs,
    transport: noTransport,
    simulate: { mode, bytes: 1_000_000, files: 3 },
  });
  const states: LifecycleState[] = [];
  const progress: Extract<LifecycleEvent, { type: "progress" }>[] = [];
  updater.subscribe((event) => {
    if (event.type === "state") states.push(event.state);
    if (event.type === "progress") progress.push(event);
  });
  return { updater, states, progress };
}

test("simulate 'available' walks every state with progress, speed and ETA, without network or disk", async () => {
  const { updater, states, progress } = simulated("available");
  const answer = await updater.check();
  assert.equal(answer.updateAvailable, true);
  assert.equal(answer.downloadBytes, 1_000_000);
  const summary = await updater.update();
  assert.equal(summary.version, answer.version);
  assert.deepEqual(states, ["checking", "available", "downloading", "verifying", "applying", "done"]);
  const downloading = progress.filter((p) => p.phase === "downloading");
  assert.equal(downloading[downloading.length - 1]!.bytesDone, 1_000_000);
  // 20 steps of 50 000 bytes every 100 ms: 500 000 B/s; halfway, one second is left.
  const half = downloading.find((p) => p.bytesDone === 500_000)!;
  assert.equal(half.bytesPerSecond, 500_000);
  assert.equal(half.etaSeconds, 1);
  assert.equal(progress.filter((p) => p.phase === "verifying").pop()!.filesDone, 3);
});

test("simulate 'not-available' and 'error'", async () => {
  const none = simulated("not-available");
  assert.equal((await none.updater.check()).updateAvailable, false);
  assert.equal((await none.updater.update()).upToDate, true);
  assert.deepEqual(none.states, ["checking", "up-to-date", "downloading", "done"]);

  const failing = simulated("error");
  await assert.rejects(failing.updater.check(), (e: unknown) => isFerryError(e, "E_NETWORK"));
  assert.deepEqual(failing.states, ["checking", "failed"]);
  assert.equal(failing.updater.snapshot().error?.code, "E_NETWORK");
  await assert.rejects(failing.updater.update(), (e: unknown) => isFerryError(e, "E_NETWORK"));
});

test("simulate: pause, resume and cancel drive the same machine", async () => {
  const { updater, states } = simulated("available");
  await updater.check();
  let paused = false;
  updater.subscribe((event) => {
    if (event.type === "progress" && event.bytesDone >= 300_000 && !paused) paused = updater.pause();
  });
  await assert.rejects(
    updater.update(),
    (e: unknown) => isFerryError(e, "E_ABORTED") && e.data.reason === "pause",
  );
  assert.equal(updater.state, "paused");
  await updater.resume();
  assert.equal(updater.state, "done");
  assert.deepEqual(states, [
    "checking",
    "available",
    "downloading",
    "paused",
    "downloading",
    "verifying",
    "applying",
    "done",
  ]);

  const other = simulated("available");
  other.updater.subscribe((event) => {
    if (event.type === "state" && event.state === "verifying") other.updater.cancel();
  });
  await assert.rejects(other.updater.update(), (e: unknown) => isFerryError(e, "E_ABORTED"));
  assert.deepEqual(other.states, ["downloading", "verifying", "cancelled"]);
});
