import assert from "node:assert/strict";
import { cp, readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { startHostileProxy } from "../../src/testing/hostile-proxy.js";
import { v1InstallWithV2Published } from "../helpers/helpers.js";
import { type KillPhase, killPhase, killTrial, parallel, runCli } from "./kill-harness.js";

const iterations = Number(process.env.FERRY_KILL_ITERATIONS ?? "100");
const workers = Number(process.env.FERRY_KILL_PARALLEL ?? "2");

/**
 * Random-time kills: a child `ferry update` v1 -> v2 is SIGKILLed at a uniform random time in
 * [0, 1.1 T] (T = the slowest of FERRY_KILL_PARALLEL updates run at once, as the trials run). Every outcome must be exactly v1 or v2 after recovery, and a re-run
 * must reach v2. FERRY_KILL_ITERATIONS sets the count, FERRY_KILL_PARALLEL the trials run at once.
 * Each run is traced (FERRY_TEST_TRACE) to learn the phase its kill hit: kills must land before the commit
 * too, or the battery would only test runs that had nothing left to interrupt.
 */
test(`SIGKILL at random times during ferry update (${iterations} runs): never a mixed tree`, async (t) => {
  const { dir, server, template, pub, publicText } = await v1InstallWithV2Published(t);
  // A small per-response delay stretches the download so kills land in every phase.
  const proxy = await startHostileProxy(server.url, { delayMs: 30 });
  t.after(() => proxy.close());
  const trust = publicText.trim();

  // T is measured under the trials' own load: `workers` updates at once, the slowest one counts.
  const measurements = await Promise.all(
    Array.from({ length: workers }, async (_, i) => {
      const measured = join(dir, `measured-${i}`);
      await cp(template, measured, { recursive: true });
      return runCli(["update", proxy.url, measured, "--trust", trust], {
        env: { FERRY_TEST_TRACE: join(dir, `measured-${i}.trace`) },
      });
    }),
  );
  assert.ok(measurements.every((m) => m.code === 0));
  const duration = Math.max(...measurements.map((m) => m.ms));

  const setup = { template, repoUrl: proxy.url, rerunUrl: server.url, pub, trust };
  const histogram = { old: 0, new: 0, finishedBeforeKill: 0 };
  const phases: Record<KillPhase, number> = {
    "before commit": 0,
    "in commit": 0,
    "after commit": 0,
    finished: 0,
  };
  const started = Date.now();
  await parallel(
    Array.from({ length: iterations }, () => Math.random() * 1.1 * duration),
    workers,
    async (killAt, i) => {
      const label = `kill at ${killAt.toFixed(0)} ms`;
      const traceFile = join(dir, `trial-${i}.trace`);
      const trial = await killTrial(setup, join(dir, `install-${i}`), label, {
        killAfterMs: killAt,
        env: { FERRY_TEST_TRACE: traceFile },
      });
      const trace = (await readFile(traceFile, "utf8").catch(() => "")).split("\n");
      phases[killPhase(trial.run, trace)]++;
      if (trial.run.code === 0) histogram.finishedBeforeKill++;
      histogram[trial.outcome]++;
    },
  );
  assert.equal(histogram.old + histogram.new, iterations);
  assert.ok(phases["before commit"] > 0, `no kill landed before the commit: ${JSON.stringify(phases)}`);
  t.diagnostic(
    `update T=${duration} ms; ${iterations} kills (${workers} at a time) in ${Date.now() - started} ms; ` +
      `outcomes: old ${histogram.old}, new ${histogram.new}, mixed 0, failed re-runs 0 ` +
      `(finished before the kill: ${histogram.finishedBeforeKill}); kills by phase: ${JSON.stringify(phases)}`,
  );
});
