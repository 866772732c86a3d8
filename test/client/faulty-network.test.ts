import "../../src/register-node.js";
import assert from "node:assert/strict";
import { cp, rm } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { update } from "../../src/client/ops/update.js";
import { isFerryError } from "../../src/core/errors.js";
import { HttpTransport } from "../../src/node/http-transport.js";
import { systemClock } from "../../src/node/system-clock.js";
import { faultTally, randomFaults } from "../../src/testing/hostile-behaviours.js";
import { pass, startHostileServer } from "../../src/testing/hostile-server.js";
import { expectedTree, readTree, sortedEntries, v1InstallWithV2Published } from "../helpers/helpers.js";

/** Update runs (CI size 100); FERRY_FAULTY_RUNS raises it, FERRY_FAULTY_SEED replays one. */
const RUNS = Number(process.env.FERRY_FAULTY_RUNS ?? 100);
const RATE = 0.3;

/**
 * docs/RELIABILITY.md "A network that lies": v1 → v2 updates through a server that faults 30 % of the
 * requests at random (5xx, cut bodies, a flipped byte, dropped Range, 200 for 206, repeated or
 * overlapping multipart parts, stalls, crawls), with the client's default retry policy (5 attempts).
 * Half the runs update by chunk ranges, half by binary deltas. Each run must end exactly on v2, or with a
 * typed error and exactly v1; at least 95 % must reach v2; no tree may be anything else.
 */
test(`faulty network battery: ${RUNS} updates through a random ${RATE * 100} %-faulty server`, async (t) => {
  const fixtures = [
    await v1InstallWithV2Published(t, { deltaHistory: 0 }),
    await v1InstallWithV2Published(t),
  ];
  const v1 = JSON.stringify(sortedEntries(expectedTree(1)));
  const v2 = JSON.stringify(sortedEntries(expectedTree(2)));
  const seed = Number(process.env.FERRY_FAULTY_SEED ?? Math.floor(Math.random() * 2 ** 31));
  let a = seed;
  const random = () => (a = (Math.imul(a, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const tally = faultTally();
  const servers = await Promise.all(
    fixtures.map(async (f) => {
      const s = await startHostileServer(f.server.url, pass);
      s.setBehaviour(randomFaults(random, RATE, tally));
      return s;
    }),
  );
  t.after(() => Promise.all(servers.map((s) => s.close())));
  // Backoff waits are real but 20 times shorter, to keep the battery within its time budget.
  const clock = {
    now: () => new Date(),
    sleep: (ms: number, s?: AbortSignal) => systemClock.sleep(ms / 20, s),
  };

  const counts = { new: 0, old: 0, wrong: 0 };
  const codes = new Map<string, number>();
  const started = performance.now();
  for (let run = 0; run < RUNS; run++) {
    const fixture = fixtures[run % 2]!;
    const install = join(fixture.dir, `run-${run}`);
    await cp(fixture.template, install, { recursive: true });
    let error: unknown;
    try {
      await update({
        repoUrl: servers[run % 2]!.url,
        installDir: install,
        trust: [fixture.pub],
        clock,
        // A stall fails after 300 ms; a crawl (one byte per 20 ms) is under the floor within 400 ms.
        transport: new HttpTransport({ idleTimeoutMs: 300, minBytesPerSecond: 4096, rateWindowMs: 400 }),
      });
    } catch (e) {
      error = e;
    }
    const tree = JSON.stringify(sortedEntries(await readTree(install)));
    await rm(install, { recursive: true, force: true });
    const label = `run ${run} (seed ${seed}): ${error instanceof Error ? error.message : "no error"}`;
    if (error === undefined && tree === v2) counts.new++;
    else if (isFerryError(error) && tree === v1) {
      counts.old++;
      codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
      t.diagnostic(`ended on v1: ${label}`);
    } else {
      counts.wrong++;
      t.diagnostic(`WRONG: ${label}`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const faults = [...tally.byFault].map(([k, v]) => `${k} ${v}`).join(", ");
  t.diagnostic(
    `seed ${seed}: ${RUNS} runs in ${seconds.toFixed(1)} s: ${counts.new} new, ${counts.old} old (${[...codes].map(([k, v]) => `${k} ${v}`).join(", ") || "none"}), ${counts.wrong} wrong`,
  );
  t.diagnostic(`${tally.requests} requests, ${tally.faulted} faulted (${faults})`);
  // The server really was that faulty: a battery through a quiet network would prove nothing.
  assert.ok(
    tally.faulted >= 0.2 * tally.requests && tally.faulted <= 0.4 * tally.requests,
    `${tally.faulted} of ${tally.requests} requests faulted`,
  );
  for (const kind of ["5xx", "cut", "flip", "stall", "crawl"] as const) {
    assert.ok((tally.byFault.get(kind) ?? 0) > 0, `no ${kind} fault among ${faults}`);
  }
  assert.equal(counts.wrong, 0, "no run may leave a tree other than exactly v1 or v2");
  assert.ok(counts.new >= Math.ceil(0.95 * RUNS), `${counts.new} of ${RUNS} runs reached v2 (seed ${seed})`);
});
