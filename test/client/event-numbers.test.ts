/**
 * The numbers in events are what they claim: bytesPerSecond whole bytes per second, etaSeconds whole
 * seconds (never negative), done never above total, in a real update driven through the lifecycle.
 */
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { test } from "node:test";
import type { LifecycleEvent, UpdateEvent } from "../../src/client/events.js";
import { createUpdater } from "../../src/client/ops/lifecycle.js";
import { RateMeter } from "../../src/core/lifecycle.js";
import type { Clock } from "../../src/ports/clock.js";
import { repoFixture } from "../helpers/served-repo.js";

/** Real sleeps; `now` moves 7.3 ms per reading, so measured rates are not round numbers. */
function oddClock(): Clock {
  let now = Date.UTC(2026, 0, 1);
  return {
    now: () => new Date((now += 7.3)),
    sleep: (ms, signal) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(resolve, ms);
        signal?.addEventListener("abort", () => {
          clearTimeout(timer);
          reject(new Error("aborted"));
        });
      }),
  };
}

test("progress events of a real update: integer speed and ETA, done <= total, ETA never negative", async (t) => {
  const r = await repoFixture(t);
  const files: Record<string, Uint8Array> = {};
  for (let i = 0; i < 12; i++) files[`data/f${i}.bin`] = randomBytes(150_000 + i * 7919);
  await r.publish(files, { version: "1.0.0" });
  const install = join(r.dir, "game");
  const progress: Extract<LifecycleEvent, { type: "progress" }>[] = [];
  const library: UpdateEvent[] = [];
  const updater = createUpdater({ ...r.options(install), clock: oddClock() });
  updater.subscribe((event) => {
    if (event.type === "progress") progress.push(event);
    if (event.type === "library") library.push(event.event);
  });
  await updater.update();
  const speeds = progress.filter((p) => p.bytesPerSecond !== undefined);
  assert.ok(speeds.length >= 3, `${speeds.length} progress events with a speed`);
  for (const p of progress) {
    const where = JSON.stringify(p);
    if (p.bytesPerSecond !== undefined) {
      assert.ok(Number.isInteger(p.bytesPerSecond) && p.bytesPerSecond >= 0, `bytesPerSecond: ${where}`);
    }
    if (p.etaSeconds !== undefined) {
      assert.ok(Number.isInteger(p.etaSeconds) && p.etaSeconds >= 0, `etaSeconds: ${where}`);
    }
    assert.ok(p.bytesDone <= p.bytesTotal || p.bytesTotal === 0, `bytes: ${where}`);
    assert.ok(p.filesDone <= p.filesTotal || p.filesTotal === 0, `files: ${where}`);
  }
  for (const e of library) {
    if (e.type === "download") assert.ok(e.bytes <= e.totalBytes, JSON.stringify(e));
    if (e.type === "assemble") assert.ok(e.done <= e.total, JSON.stringify(e));
  }
});

test("RateMeter: whole bytes per second, ETA rounded up, 0 only when done", () => {
  const meter = new RateMeter(5000);
  meter.add(0, 0);
  meter.add(300, 1000); // 3333.33 B/s
  assert.equal(meter.bytesPerSecond(), 3333);
  assert.equal(meter.etaSeconds(1001), 1, "1 byte left: 1 s, not 0.0003 s");
  assert.equal(meter.etaSeconds(1000), 0);
  assert.equal(meter.etaSeconds(500), 0, "past the total: 0, never negative");
  assert.equal(meter.etaSeconds(11_000), 3);
});
