import assert from "node:assert/strict";
import { cp, readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { v1InstallWithV2Published } from "../helpers/helpers.js";
import { killTrial, parallel, runCli } from "../client/kill-harness.js";

const all = process.env.FERRY_KILL_POINTS === "all";
const workers = Number(process.env.FERRY_KILL_PARALLEL ?? "2");

/**
 * Named checkpoints (src/testing/kill-points.ts): a traced `ferry update` v1 -> v2 lists every mutating
 * file-system operation and event as `<name>#<occurrence>`. A child update is then SIGKILLed at each
 * named point: before the first occurrence of every name, and before and after the first and the last
 * occurrence of every commit-phase name (journal, state, install tree); FERRY_KILL_POINTS=all: before
 * and after every occurrence. After recovery the tree must be exactly v1
 * or v2, and a re-run must reach v2.
 */
test("SIGKILL at every named checkpoint of ferry update: old or new, and a re-run reaches new", async (t) => {
  const { dir, server, template, pub, publicText } = await v1InstallWithV2Published(t);
  const trust = publicText.trim();
  const traced = join(dir, "traced");
  const traceFile = join(dir, "trace.txt");
  await cp(template, traced, { recursive: true });
  const run = await runCli(["update", server.url, traced, "--trust", trust], {
    env: { FERRY_TEST_TRACE: traceFile },
  });
  assert.equal(run.code, 0);
  const trace = (await readFile(traceFile, "utf8")).trim().split("\n");
  const counts = new Map<string, number>();
  for (const line of trace) {
    const [name, n] = line.split("#") as [string, string];
    counts.set(name, Math.max(counts.get(name) ?? 0, Number(n)));
  }
  for (const name of [
    "writeFileAtomic:journal",
    "rename:install",
    "rename:previous",
    "writeFileAtomic:state",
  ])
    assert.ok(counts.has(name), `the trace names ${name}`);

  const points = new Set<string>();
  for (const [name, count] of counts) {
    if (all) {
      for (let n = 1; n <= count; n++) points.add(`before@${name}#${n}`).add(`after@${name}#${n}`);
      continue;
    }
    points.add(`before@${name}#1`);
    if (/:(journal|state|install|previous)$/.test(name))
      points.add(`after@${name}#1`).add(`before@${name}#${count}`).add(`after@${name}#${count}`);
  }
  const histogram = { old: 0, new: 0 };
  const byPoint: string[] = [];
  const setup = { template, repoUrl: server.url, rerunUrl: server.url, pub, trust };
  await parallel([...points], workers, async (point, i) => {
    const trial = await killTrial(setup, join(dir, `install-${i}`), `kill ${point}`, {
      env: { FERRY_TEST_KILL_AT: point },
    });
    assert.equal(trial.run.signal, "SIGKILL", `${point} was reached and killed the child`);
    histogram[trial.outcome]++;
    byPoint.push(`${point}=${trial.outcome}`);
  });
  t.diagnostic(
    `${trace.length} checkpoints traced (${counts.size} names); ${points.size} kill points: ` +
      `old ${histogram.old}, new ${histogram.new}, mixed 0, failed re-runs 0`,
  );
  const firstNew = trace.find((line) => byPoint.includes(`before@${line}=new`));
  t.diagnostic(`first point whose kill leaves the new release: before@${firstNew ?? "(none)"}`);
});
