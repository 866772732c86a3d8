import "../../src/register-node.js";
import assert from "node:assert/strict";
import { mkdir, utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { test } from "node:test";
import { InstallLayout } from "../../src/client/install/layout.js";
import { acquireLock } from "../../src/client/install/lock.js";
import { isFerryError } from "../../src/core/errors.js";
import { ForwardingFileSystem } from "../../src/node/forwarding-fs.js";
import { NodeFileSystem } from "../../src/node/node-fs.js";
import type { Clock } from "../../src/ports/clock.js";
import { systemError } from "../../src/testing/fault-fs.js";
import { tempDir } from "../helpers/helpers.js";

/** Virtual time; `onSleep` runs at each poll (to release a lock mid-wait). */
function fakeClock(onSleep?: (polls: number) => Promise<void>): Clock & { polls: () => number } {
  let now = Date.now();
  let polls = 0;
  return {
    now: () => new Date(now),
    async sleep(ms) {
      polls++;
      now += ms;
      await onSleep?.(polls);
    },
    polls: () => polls,
  };
}

const fs = new NodeFileSystem();

async function layout(t: Parameters<typeof tempDir>[0]): Promise<InstallLayout> {
  const l = new InstallLayout(await tempDir(t));
  await mkdir(l.ferry, { recursive: true });
  return l;
}

test("a held lock: E_LOCKED at once by default, after polling for waitMs when asked", async (t) => {
  const l = await layout(t);
  const release = await acquireLock(fs, l, fakeClock());
  await assert.rejects(
    acquireLock(fs, l, fakeClock()),
    (e: unknown) => isFerryError(e, "E_LOCKED") && e.message.includes(l.root),
  );
  const clock = fakeClock();
  await assert.rejects(acquireLock(fs, l, clock, { waitMs: 1_000 }), (e: unknown) =>
    isFerryError(e, "E_LOCKED"),
  );
  assert.equal(clock.polls(), 10, "polled every 100 ms for the whole wait");
  await release();
  await (
    await acquireLock(fs, l, fakeClock())
  )();
});

test("a waiter gets the lock as soon as the holder releases it", async (t) => {
  const l = await layout(t);
  const release = await acquireLock(fs, l, fakeClock());
  const clock = fakeClock(async (polls) => {
    if (polls === 3) await release();
  });
  const second = await acquireLock(fs, l, clock, { waitMs: 60_000 });
  assert.equal(clock.polls(), 3);
  await second();
});

test("stale locks are taken over: dead owner, a failed release of this process, unreadable for 10 s", async (t) => {
  const l = await layout(t);
  await writeFile(l.lock, JSON.stringify({ pid: 2 ** 22 + 4321, host: hostname(), started: "" }));
  await (
    await acquireLock(fs, l, fakeClock())
  )();

  // A release that failed leaves a lock naming this very process: the next acquire here takes it over.
  const failing = new (class extends ForwardingFileSystem {
    override unlink(path: string): Promise<void> {
      return Promise.reject(systemError("EIO", "unlink", path));
    }
  })(fs);
  const release = await acquireLock(failing, l, fakeClock());
  await assert.rejects(release(), (e: unknown) => (e as { code?: string }).code === "EIO");
  await (
    await acquireLock(fs, l, fakeClock())
  )();
  // A lock naming this process that it never failed to release is someone else's (pid reuse): kept.
  await writeFile(l.lock, JSON.stringify({ pid: process.pid, host: hostname(), started: "" }));
  await assert.rejects(acquireLock(fs, l, fakeClock()), (e: unknown) => isFerryError(e, "E_LOCKED"));

  // An empty lock (a crash between create and write) blocks only while it is fresh.
  await writeFile(l.lock, "");
  await assert.rejects(acquireLock(fs, l, fakeClock()), (e: unknown) => isFerryError(e, "E_LOCKED"));
  const old = new Date(Date.now() - 60_000);
  await utimes(l.lock, old, old);
  await (
    await acquireLock(fs, l, fakeClock())
  )();

  // A live process on this host keeps its lock.
  await writeFile(l.lock, JSON.stringify({ pid: process.ppid, host: hostname(), started: "" }));
  await assert.rejects(acquireLock(fs, l, fakeClock()), (e: unknown) => isFerryError(e, "E_LOCKED"));
  // So does one on another host (its pid means nothing here).
  await writeFile(l.lock, JSON.stringify({ pid: 2 ** 22 + 4321, host: `not-${hostname()}`, started: "" }));
  await assert.rejects(acquireLock(fs, l, fakeClock()), (e: unknown) => isFerryError(e, "E_LOCKED"));
});
