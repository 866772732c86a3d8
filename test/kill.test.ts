import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cp, rm } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { status } from "../src/client/inspect.js";
import { startHostileProxy } from "../src/testing/hostile-proxy.js";
import { expectedTree, readTree, sortedEntries, v1InstallWithV2Published } from "./helpers.js";

const cli = join(import.meta.dirname, "..", "src", "cli", "main.js");
const iterations = Number(process.env.FERRY_KILL_ITERATIONS ?? "24");

function runCli(args: string[], killAfterMs?: number): Promise<{ code: number | null; ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, [cli, ...args], { stdio: "ignore" });
  if (killAfterMs !== undefined) setTimeout(() => child.kill("SIGKILL"), killAfterMs);
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, ms: Date.now() - started })));
}

/**
 * Random-time kills: a child `ferry update` v1 -> v2 is SIGKILLed at a uniform random time in
 * [0, 1.1 T] (T = a measured update). Every outcome must be exactly v1 or v2 after recovery, and a re-run
 * must reach v2. FERRY_KILL_ITERATIONS sets the count.
 */
test(`SIGKILL at random times during ferry update (${iterations} runs): never a mixed tree`, async (t) => {
  const { dir, server, template, ...k } = await v1InstallWithV2Published(t);
  // A small per-response delay stretches the download so kills land in every phase.
  const proxy = await startHostileProxy(server.url, { delayMs: 30 });
  t.after(() => proxy.close());
  const trust = k.publicText.trim();

  const measured = join(dir, "measured");
  await cp(template, measured, { recursive: true });
  const { code, ms: duration } = await runCli(["update", proxy.url, measured, "--trust", trust]);
  assert.equal(code, 0);

  const v1 = JSON.stringify(sortedEntries(expectedTree(1)));
  const v2 = JSON.stringify(sortedEntries(expectedTree(2)));
  const histogram = { old: 0, new: 0, killedAfterExit: 0 };
  for (let i = 0; i < iterations; i++) {
    const install = join(dir, `install-${i}`);
    await cp(template, install, { recursive: true });
    const killAt = Math.random() * 1.1 * duration;
    const run = await runCli(["update", proxy.url, install, "--trust", trust], killAt);
    if (run.code === 0) histogram.killedAfterExit++;
    await status(install); // recovery on open
    const tree = JSON.stringify(sortedEntries(await readTree(install)));
    assert.ok(tree === v1 || tree === v2, `kill at ${killAt.toFixed(0)} ms left a mixed tree`);
    histogram[tree === v1 ? "old" : "new"]++;
    const rerun = await runCli(["update", server.url, install, "--trust", trust]);
    assert.equal(rerun.code, 0, `re-run after a kill at ${killAt.toFixed(0)} ms`);
    assert.equal(JSON.stringify(sortedEntries(await readTree(install))), v2);
    await rm(install, { recursive: true, force: true });
  }
  t.diagnostic(
    `update T=${duration} ms; outcomes: old ${histogram.old}, new ${histogram.new} (finished before the kill: ${histogram.killedAfterExit})`,
  );
});
