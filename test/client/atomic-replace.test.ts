/**
 * Per-file replace is atomic for readers (docs/FORMAT.md §7): a game reading its files during updates
 * never gets "file not found" for a file present in both releases, nor a torn file. Readers loop in
 * worker threads (truly concurrent) over FERRY_ATOMIC_UPDATES updates (default 50); every read counted.
 */
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Worker } from "node:worker_threads";
import { update } from "../../src/client/ops/update.js";
import { servedRepo, type Tree } from "../helpers/install-fixture.js";

const UPDATES = Number(process.env.FERRY_ATOMIC_UPDATES ?? 50);
const SHARED = ["game.bin", "data/level1.dat", "data/level2.dat", "config/defaults.ini", "a/b/c/deep.txt"];

/** Every shared file changes in every release; its content names the file and version, framed. */
function release(version: number): Tree {
  const tree: Record<string, string> = { [`only-in-${version}.txt`]: `v${version}` };
  for (const path of SHARED) tree[path] = `<${path}@${version}:${"x".repeat(2000 + version * 37)}>`;
  return tree;
}

const READER = `
const { readFileSync } = require("node:fs");
const { workerData } = require("node:worker_threads");
const { files, flag, counts } = workerData;
const stop = new Int32Array(flag);
const c = new Float64Array(counts); // reads, misses, torn, other errors
while (Atomics.load(stop, 0) === 0) {
  for (const file of files) {
    try {
      const text = readFileSync(file, "utf8");
      c[0]++;
      if (!text.startsWith("<") || !text.endsWith(">")) c[2]++;
    } catch (error) {
      if (error.code === "ENOENT") c[1]++; else c[3]++;
    }
  }
}
`;

describe("atomic per-file replace", () => {
  it(`readers looping during ${UPDATES} updates see no missing and no torn file`, async (t) => {
    const r = await servedRepo(t);
    await r.release(release(1));
    const install = await r.trial();
    await update({ repoUrl: r.url, installDir: install, trust: [r.pub] });
    const flag = new SharedArrayBuffer(4);
    const workers = [0].map(() => {
      const counts = new SharedArrayBuffer(4 * 8);
      const files = SHARED.map((p) => join(install, ...p.split("/")));
      const worker = new Worker(READER, { eval: true, workerData: { files, flag, counts } });
      return { worker, counts: new Float64Array(counts), done: new Promise((ok) => worker.once("exit", ok)) };
    });
    t.after(() => Promise.all(workers.map((w) => w.worker.terminate())));
    let readsDuringUpdates = 0;
    for (let v = 2; v <= UPDATES + 1; v++) {
      await r.release(release(v));
      const before = workers.reduce((n, w) => n + w.counts[0]!, 0);
      const summary = await update({ repoUrl: r.url, installDir: install, trust: [r.pub] });
      assert.equal(summary.version, `${v}.0.0`);
      assert.equal(summary.filesWritten, SHARED.length + 1);
      readsDuringUpdates += workers.reduce((n, w) => n + w.counts[0]!, 0) - before;
    }
    Atomics.store(new Int32Array(flag), 0, 1);
    await Promise.all(workers.map((w) => w.done));
    const [reads, misses, torn, other] = [0, 1, 2, 3].map((i) =>
      workers.reduce((n, w) => n + w.counts[i]!, 0),
    );
    t.diagnostic(
      `${UPDATES} updates: ${reads} reads (${readsDuringUpdates} during updates), ${misses} misses`,
    );
    assert.ok(
      readsDuringUpdates > UPDATES * 10,
      `readers ran during the updates (${readsDuringUpdates} reads)`,
    );
    assert.equal(misses, 0, `${misses} of ${reads} reads found a shared file missing`);
    assert.equal(torn, 0, `${torn} of ${reads} reads saw a torn file`);
    assert.equal(other, 0, `${other} reads failed otherwise`);
  });
});
