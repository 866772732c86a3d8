import "../../src/register-node.js";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { cp, lstat, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { status } from "../../src/client/ops/inspect.js";
import { update } from "../../src/client/ops/update.js";
import { FerryError } from "../../src/core/errors.js";
import { NodeFileSystem } from "../../src/node/node-fs.js";
import type { FileSystem } from "../../src/ports/fs.js";
import { NoSyncFileSystem } from "../../src/testing/no-sync-fs.js";
import { CallFaultFileSystem } from "../../src/testing/fault-fs.js";
import { expectedTree, readTree, sortedEntries, v1InstallWithV2Published } from "../helpers/helpers.js";

const CODES = ["EIO", "ENOSPC", "EPERM"] as const;
/** How many call indices to fail ("all" = every call); codes rotate over them unless FERRY_FAULT_CODES=all. */
const pointsSetting = process.env.FERRY_FAULT_POINTS ?? "45";
const everyCode = process.env.FERRY_FAULT_CODES === "all";

/** Relative path → size of everything in `.ferry/`. */
async function ferryContents(install: string, dir = ".ferry"): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const name of await readdir(join(install, dir))) {
    const rel = `${dir}/${name}`;
    const s = await lstat(join(install, rel));
    if (s.isDirectory()) for (const [k, v] of await ferryContents(install, rel)) out.set(k, v);
    else out.set(rel, s.size);
  }
  return out;
}

const total = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

test(`an fs fault (EIO, ENOSPC, EPERM) at any call of an update: typed error, v1 or v2, space reclaimed, re-run reaches v2`, async (t) => {
  const s = await v1InstallWithV2Published(t);
  const v1 = JSON.stringify(sortedEntries(expectedTree(1)));
  const v2 = JSON.stringify(sortedEntries(expectedTree(2)));
  const run = (install: string, fs: FileSystem = new NoSyncFileSystem(new NodeFileSystem())) =>
    update({ repoUrl: s.server.url, installDir: install, trust: [s.pub], fs });

  // Count the calls of one update, and take the clean result's .ferry as the baseline.
  const counted = join(s.dir, "counted");
  await cp(s.template, counted, { recursive: true });
  const counter = new CallFaultFileSystem(new NoSyncFileSystem(new NodeFileSystem()), 0, "EIO");
  await run(counted, counter);
  const calls = counter.calls.length;
  const baseline = await ferryContents(counted);

  const n = pointsSetting === "all" ? calls : Math.min(calls, Number(pointsSetting));
  const points = Array.from({ length: n }, (_, i) => 1 + Math.floor((i * calls) / n));
  const cases = points.flatMap((point, i) =>
    everyCode ? CODES.map((code) => ({ point, code })) : [{ point, code: CODES[i % 3]! }],
  );

  const stats = { runs: 0, failedTyped: 0, absorbed: 0, old: 0, new: 0, rolledForward: 0, maxLeftover: 0 };
  const codes = new Map<string, number>();
  for (const { point, code } of cases) {
    const install = join(s.dir, `fault-${point}-${code}`);
    await cp(s.template, install, { recursive: true });
    const faulty = new CallFaultFileSystem(new NoSyncFileSystem(new NodeFileSystem()), point, code);
    const where = `${code} at call ${point}/${calls} (${faulty.calls[point - 1] ?? ""})`;
    stats.runs++;
    try {
      await run(install, faulty);
      stats.absorbed++;
    } catch (error) {
      assert.ok(error instanceof FerryError, `${where}: untyped error ${String(error)}`);
      stats.failedTyped++;
      codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
    }
    assert.ok(faulty.failed, `${where}: the fault fired`);
    const where2 = `${code} at ${faulty.failed}`;
    // Without recovery: past the commit point a journal is left; before it, the tree is untouched.
    const journal = existsSync(join(install, ".ferry", "journal.json"));
    const raw = JSON.stringify(sortedEntries(await readTree(install)));
    if (!journal) assert.ok(raw === v1 || raw === v2, `${where2}: a mixed tree without a journal`);
    else stats.rolledForward++;
    const version = (await status({ installDir: install })).version; // recovery on open, fault cleared
    const tree = JSON.stringify(sortedEntries(await readTree(install)));
    assert.ok(tree === v1 || tree === v2, `${where2}: a mixed tree after recovery`);
    assert.equal(version, tree === v1 ? "1.0.0" : "2.0.0", `${where2}: state.json matches the tree`);
    stats[tree === v1 ? "old" : "new"]++;
    await run(install);
    assert.equal(
      JSON.stringify(sortedEntries(await readTree(install))),
      v2,
      `${where2}: the re-run reaches v2`,
    );
    const after = await ferryContents(install);
    assert.deepEqual(
      [...after.keys()].sort(),
      [...baseline.keys()].sort(),
      `${where2}: .ferry holds only what a clean update leaves`,
    );
    stats.maxLeftover = Math.max(stats.maxLeftover, total(after) - total(baseline));
    await rm(install, { recursive: true, force: true });
  }
  t.diagnostic(
    `calls per update: ${calls}; fault runs: ${stats.runs} (${everyCode ? "every code" : "codes rotated"} over ${n} call indices); typed failures: ${stats.failedTyped} (${[...codes].map(([c, k]) => `${c} ${k}`).join(", ")}), absorbed: ${stats.absorbed}; after recovery old: ${stats.old}, new: ${stats.new} (journal rolled forward: ${stats.rolledForward}); .ferry after the re-run: baseline ${total(baseline)} bytes, max difference ${stats.maxLeftover} bytes`,
  );
  assert.ok(stats.old > 0 && stats.new > 0, "faults before and after the commit point");
  assert.ok(
    Math.abs(stats.maxLeftover) < 64,
    "no staging or temp space is left (state.json sizes differ only in stat-cache digits)",
  );
});
