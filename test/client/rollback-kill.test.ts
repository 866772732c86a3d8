import "../../src/register-node.js";
import assert from "node:assert/strict";
import { cp, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { status } from "../../src/client/ops/inspect.js";
import { open, rollback } from "../../src/client/ops/launch.js";
import { readUpdateLog } from "../../src/client/install/update-log.js";
import { update } from "../../src/client/ops/update.js";
import { expectedTree, readTree, sortedEntries, v1InstallWithV2Published } from "../helpers/helpers.js";
import { parallel, runCli } from "./kill-harness.js";

const workers = Number(process.env.FERRY_KILL_PARALLEL ?? "2");
const all = process.env.FERRY_KILL_POINTS === "all";
const V1 = JSON.stringify(sortedEntries(expectedTree(1)));
const V2 = JSON.stringify(sortedEntries(expectedTree(2)));

/** Named checkpoints of a traced child run: name -> highest occurrence. */
async function traced(args: string[], traceFile: string): Promise<Map<string, number>> {
  const run = await runCli(args, { env: { FERRY_TEST_TRACE: traceFile } });
  assert.equal(run.code, 0, `traced ${args[0]} succeeded`);
  const counts = new Map<string, number>();
  for (const line of (await readFile(traceFile, "utf8")).trim().split("\n")) {
    const [name, n] = line.split("#") as [string, string];
    counts.set(name, Math.max(counts.get(name) ?? 0, Number(n)));
  }
  return counts;
}

/**
 * Commit-phase names: before and after the first occurrence of journal and state writes, before the
 * first and the last occurrence of install-tree and previous-release operations. FERRY_KILL_POINTS=all:
 * before and after the first and last occurrence of every name.
 */
function killPoints(counts: Map<string, number>): string[] {
  const points = new Set<string>();
  for (const [name, count] of counts) {
    if (all) {
      for (const n of [1, count]) points.add(`before@${name}#${n}`).add(`after@${name}#${n}`);
    } else if (/:(journal|state)$/.test(name)) {
      points.add(`before@${name}#1`).add(`after@${name}#1`);
    } else if (/:(install|previous)$/.test(name)) {
      points.add(`before@${name}#1`).add(`before@${name}#${count}`);
    }
  }
  return [...points];
}

/**
 * `ferry rollback` (v2 -> the kept v1) SIGKILLed at its named checkpoints: after recovery the tree is
 * exactly v2 or exactly v1; when v1, the rollback is in the log once and v2 is blocked; when v2, a
 * re-run of the rollback reaches v1.
 */
test("SIGKILL at named checkpoints of ferry rollback: old or new tree, reason logged once", async (t) => {
  const { dir, server, template, pub } = await v1InstallWithV2Published(t);
  await update({ repoUrl: server.url, installDir: template, trust: [pub] });
  const tracedInstall = join(dir, "traced");
  await cp(template, tracedInstall, { recursive: true });
  const counts = await traced(["rollback", tracedInstall], join(dir, "trace.txt"));
  for (const name of [
    "writeFileAtomic:journal",
    "rename:install",
    "writeFileAtomic:state",
    "removeTree:previous",
  ])
    assert.ok(counts.has(name), `the trace names ${name}`);
  const points = killPoints(counts);
  const histogram = { old: 0, new: 0 };
  await parallel(points, workers, async (point, i) => {
    const install = join(dir, `install-${i}`);
    await cp(template, install, { recursive: true });
    try {
      const run = await runCli(["rollback", install], { env: { FERRY_TEST_KILL_AT: point } });
      assert.equal(run.signal, "SIGKILL", `${point} was reached`);
      await status({ installDir: install }); // recovery on open
      const tree = JSON.stringify(sortedEntries(await readTree(install)));
      assert.ok(tree === V1 || tree === V2, `${point}: mixed tree after recovery`);
      if (tree === V2) {
        histogram.old++;
        await rollback({ installDir: install });
        assert.equal(JSON.stringify(sortedEntries(await readTree(install))), V1, `${point}: re-run`);
      } else histogram.new++;
      const rolled = (await readUpdateLog({ installDir: install })).filter((e) => e.kind === "rolled-back");
      assert.equal(rolled.length, 1, `${point}: the rollback is logged exactly once`);
      assert.equal(
        (await status({ installDir: install })).lifecycle.blocked.length,
        1,
        `${point}: 2.0.0 is blocked`,
      );
    } finally {
      await rm(install, { recursive: true, force: true });
    }
  });
  t.diagnostic(
    `${counts.size} checkpoint names; ${points.length} kill points: old ${histogram.old}, new ${histogram.new}, mixed 0`,
  );
});

/** `ferry open` committing a staged update (apply on next start), killed at its named checkpoints. */
test("SIGKILL at named checkpoints of ferry open applying a staged update: old or new tree", async (t) => {
  const { dir, server, template, pub } = await v1InstallWithV2Published(t);
  // Staged in place per install: a copy has new inodes, and a staged update whose files changed
  // identity is discarded at open (pending.ts), as it should be.
  const staged = async (install: string) => {
    await cp(template, install, { recursive: true });
    await update({ repoUrl: server.url, installDir: install, trust: [pub], applyOn: "next-start" });
  };
  const tracedInstall = join(dir, "traced");
  await staged(tracedInstall);
  const counts = await traced(["open", tracedInstall], join(dir, "trace-open.txt"));
  assert.ok(counts.has("writeFileAtomic:journal"), "the staged commit writes a journal");
  const points = killPoints(counts);
  const histogram = { old: 0, new: 0 };
  await parallel(points, workers, async (point, i) => {
    const install = join(dir, `open-${i}`);
    await staged(install);
    try {
      const run = await runCli(["open", install], { env: { FERRY_TEST_KILL_AT: point } });
      assert.equal(run.signal, "SIGKILL", `${point} was reached`);
      await status({ installDir: install });
      const tree = JSON.stringify(sortedEntries(await readTree(install)));
      assert.ok(tree === V1 || tree === V2, `${point}: mixed tree after recovery`);
      histogram[tree === V1 ? "old" : "new"]++;
      // The next start finishes the job: v2, whether the staged update survived or is re-staged.
      const opened = await open({ installDir: install });
      if (opened.version !== "2.0.0") {
        await update({ repoUrl: server.url, installDir: install, trust: [pub] });
      }
      assert.equal(JSON.stringify(sortedEntries(await readTree(install))), V2, `${point}: reaches v2`);
    } finally {
      await rm(install, { recursive: true, force: true });
    }
  });
  t.diagnostic(
    `${counts.size} checkpoint names; ${points.length} kill points: old ${histogram.old}, new ${histogram.new}, mixed 0`,
  );
});
