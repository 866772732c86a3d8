import "../../src/register-node.js";
import assert from "node:assert/strict";
import { cp } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { update } from "../../src/client/ops/update.js";
import { FerryError } from "../../src/core/errors.js";
import { HttpTransport } from "../../src/node/http-transport.js";
import type { ObjectKind } from "../../src/testing/hostile-server.js";
import { pass, startHostileServer } from "../../src/testing/hostile-server.js";
import { assertTreeIs, v1InstallWithV2Published } from "../helpers/helpers.js";

const WINDOW_MS = 300;
const ATTEMPTS = 2;
const fastClock = { now: () => new Date(), sleep: async () => undefined };

/**
 * docs/RELIABILITY.md "Slow and stalled servers": a server that trickles (one byte per second) ends the
 * update with E_TIMEOUT in a bounded time, the install unchanged and its lock released; an operation
 * that crawls just above the floor ends at its deadline.
 */
test("a trickling server ends with E_TIMEOUT in bounded time, the install unchanged and unlocked", async (t) => {
  const s = await v1InstallWithV2Published(t, { deltaHistory: 0 });
  const hostile = await startHostileServer(s.server.url, pass);
  t.after(() => hostile.close());
  const trickle = (kind: ObjectKind, paceMs: number) =>
    hostile.setBehaviour(async (exchange, context) => {
      const upstream = await context.upstream();
      return exchange.kind === kind ? { ...upstream, paceMs } : upstream;
    });

  const cases: {
    name: string;
    kind: ObjectKind;
    paceMs: number;
    deadlineMs?: number;
    requestTimeoutMs?: number;
    scope: string;
  }[] = [
    { name: "pointer at 1 B/s", kind: "pointer", paceMs: 1000, scope: "request" },
    { name: "pack at 1 B/s", kind: "pack", paceMs: 1000, scope: "request" },
    // 200 B/s is above the floor (64 B/s): only the operation's deadline stops it.
    {
      name: "pack at 200 B/s, 1.5 s deadline",
      kind: "pack",
      paceMs: 5,
      deadlineMs: 1500,
      scope: "operation",
    },
    // The same crawl just above the floor, stopped by the per-request deadline on each attempt.
    {
      name: "pack at 200 B/s, 400 ms request deadline",
      kind: "pack",
      paceMs: 5,
      requestTimeoutMs: 400,
      scope: "request",
    },
  ];
  for (const c of cases) {
    const install = join(s.dir, `install-${c.name.replace(/\W+/g, "-")}`);
    await cp(s.template, install, { recursive: true });
    trickle(c.kind, c.paceMs);
    const started = performance.now();
    await assert.rejects(
      update({
        repoUrl: hostile.url,
        installDir: install,
        trust: [s.pub],
        clock: fastClock,
        maxAttempts: ATTEMPTS,
        ...(c.deadlineMs === undefined ? {} : { deadlineMs: c.deadlineMs }),
        transport: new HttpTransport({
          idleTimeoutMs: 10_000,
          minBytesPerSecond: 64,
          rateWindowMs: WINDOW_MS,
          ...(c.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: c.requestTimeoutMs }),
        }),
      }),
      (e: unknown) => {
        assert.ok(e instanceof FerryError, String(e));
        assert.equal(e.code, "E_TIMEOUT", e.message);
        assert.equal(e.data.scope, c.scope, e.message);
        return true;
      },
    );
    const ms = performance.now() - started;
    // The stated bound: attempts x one window per request (plus one second of setup and checks), or
    // the deadline.
    const bound = (c.deadlineMs ?? ATTEMPTS * (c.requestTimeoutMs ?? WINDOW_MS)) + 1000;
    assert.ok(ms < bound, `${c.name}: took ${ms.toFixed(0)} ms, bound ${bound} ms`);
    t.diagnostic(`${c.name}: E_TIMEOUT (${c.scope}) after ${ms.toFixed(0)} ms (bound ${bound} ms)`);
    await assertTreeIs(install, 1);
    // The lock is free: an update over a healthy connection, with no lock wait, goes through.
    await update({ repoUrl: s.server.url, installDir: install, trust: [s.pub] });
    await assertTreeIs(install, 2);
  }
});
