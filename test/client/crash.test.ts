import "../../src/register-node.js";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { cp, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { status } from "../../src/client/ops/inspect.js";
import { update } from "../../src/client/ops/update.js";
import { NodeFileSystem } from "../../src/node/node-fs.js";
import { faultyFileSystem } from "../../src/testing/faulty-fs.js";
import { expectedTree, readTree, sortedEntries, v1InstallWithV2Published } from "../helpers/helpers.js";

/**
 * Kill points: the update v1 -> v2 is stopped at every mutating file-system operation in turn (all of
 * them up to FERRY_CRASH_POINTS, default every one). After recovery (any library open) the tree must be
 * exactly v1 or exactly v2, and a re-run must reach v2.
 */
test("a crash at any file-system operation leaves v1 or v2, never a mix, and a re-run finishes", async (t) => {
  const { dir, server, template, ...k } = await v1InstallWithV2Published(t);

  const v1 = JSON.stringify(sortedEntries(expectedTree(1)));
  const v2 = JSON.stringify(sortedEntries(expectedTree(2)));
  const outcomes = { old: 0, new: 0 };
  const limit = Number(process.env.FERRY_CRASH_POINTS ?? "100000");
  let point = 1;
  for (; point <= limit; point++) {
    const install = join(dir, `install-${point}`);
    await cp(template, install, { recursive: true });
    const faulty = faultyFileSystem(new NodeFileSystem(), point);
    let completed = false;
    try {
      await update({ repoUrl: server.url, installDir: install, trust: [k.pub], fs: faulty.fs });
      completed = !faulty.crashed();
    } catch (error) {
      assert.ok(faulty.crashed(), `only the simulated crash may fail the update: ${String(error)}`);
    }
    if (completed) {
      await rm(install, { recursive: true, force: true });
      break;
    }
    // A crashed process leaves its lock behind; it is dead, so give the lock a pid that no process has.
    const lock = join(install, ".ferry", "lock");
    if (existsSync(lock))
      await writeFile(lock, JSON.stringify({ pid: 2 ** 22 + 4321, host: hostname(), started: "" }));
    // Recovery happens on open.
    await status({ installDir: install });
    const tree = JSON.stringify(sortedEntries(await readTree(install)));
    assert.ok(tree === v1 || tree === v2, `crash point ${point} (${faulty.trace.at(-1)}) left a mixed tree`);
    outcomes[tree === v1 ? "old" : "new"]++;
    await update({ repoUrl: server.url, installDir: install, trust: [k.pub] });
    assert.equal(
      JSON.stringify(sortedEntries(await readTree(install))),
      v2,
      `re-run after crash point ${point} reaches v2`,
    );
    await rm(install, { recursive: true, force: true });
  }
  t.diagnostic(`crash points: ${point - 1}; recovered to old: ${outcomes.old}, to new: ${outcomes.new}`);
  assert.ok(point - 1 >= 20, "the apply path has at least 20 crash points");
  assert.ok(
    outcomes.old > 0 && outcomes.new > 0,
    "crashes before and after the commit point were both exercised",
  );
});
