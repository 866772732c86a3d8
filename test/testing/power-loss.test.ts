import "../../src/register-node.js";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { cp, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { status } from "../../src/client/ops/inspect.js";
import { update } from "../../src/client/ops/update.js";
import { ForwardingFileSystem } from "../../src/node/forwarding-fs.js";
import { NodeFileSystem } from "../../src/node/node-fs.js";
import { NoSyncFileSystem } from "../../src/testing/no-sync-fs.js";
import type { FileSystem, FileWriter } from "../../src/ports/fs.js";
import { crashStates, materialize } from "../../src/testing/power-loss-fs.js";
import { RecordingFileSystem } from "../../src/testing/recording-fs.js";
import { expectedTree, readTree, sortedEntries, v1InstallWithV2Published } from "../helpers/helpers.js";

const maxStates = Number(process.env.FERRY_POWERLOSS_STATES ?? "80");

type Setup = Awaited<ReturnType<typeof v1InstallWithV2Published>>;

/**
 * Records one update v1 -> v2 (through `wrap`, which sits between the client and the recorder), builds
 * the crash states a power loss may leave, and checks each: recovery on open gives exactly v1 or v2
 * with a matching state.json, and (when `rerun`) an update then reaches v2. Returns what it found.
 */
async function simulate(
  s: Setup,
  name: string,
  options: {
    wrap?: (fs: FileSystem) => FileSystem;
    rerun: boolean;
    stopAtFirstFinding?: boolean;
    limit: number;
  },
) {
  const recorded = join(s.dir, `${name}-recorded`);
  await cp(s.template, recorded, { recursive: true });
  const recorder = new RecordingFileSystem(new NodeFileSystem(), recorded);
  const fs = options.wrap ? options.wrap(recorder) : recorder;
  await update({ repoUrl: s.server.url, installDir: recorded, trust: [s.pub], fs });
  const generated = crashStates(recorder.initial, recorder.effects, { maxStates: options.limit });

  const v1 = JSON.stringify(sortedEntries(expectedTree(1)));
  const v2 = JSON.stringify(sortedEntries(expectedTree(2)));
  const findings: string[] = [];
  const outcomes = { old: 0, new: 0 };
  let checked = 0;
  for (const [i, state] of generated.states.entries()) {
    const install = join(s.dir, `${name}-state-${i}`);
    await materialize(install, state.tree);
    // The crashed updater is dead: its lock names a pid no process has.
    const lock = join(install, ".ferry", "lock");
    if (existsSync(lock))
      await writeFile(lock, JSON.stringify({ pid: 2 ** 22 + 4321, host: hostname(), started: "" }));
    const where = `power loss after effect ${state.prefix}/${recorder.effects.length} (${state.variant})`;
    checked++;
    try {
      const version = (await status({ installDir: install })).version;
      const tree = JSON.stringify(sortedEntries(await readTree(install)));
      if (tree !== v1 && tree !== v2) findings.push(`${where}: mixed tree`);
      else if (version !== (tree === v1 ? "1.0.0" : "2.0.0"))
        findings.push(`${where}: tree of ${tree === v1 ? "v1" : "v2"} but state.json says ${version}`);
      else outcomes[tree === v1 ? "old" : "new"]++;
      if (options.rerun) {
        // The re-run's own durability is not under test here: skipping its fsyncs halves the time.
        await update({
          repoUrl: s.server.url,
          installDir: install,
          trust: [s.pub],
          fs: new NoSyncFileSystem(new NodeFileSystem()),
        });
        if (JSON.stringify(sortedEntries(await readTree(install))) !== v2)
          findings.push(`${where}: a re-run did not reach v2`);
      }
    } catch (error) {
      findings.push(`${where}: ${String(error)}`);
    }
    await rm(install, { recursive: true, force: true });
    if (options.stopAtFirstFinding && findings.length > 0) break;
  }
  return { ...generated, effects: recorder.effects.length, checked, findings, outcomes };
}

test(`power loss at any point of an update leaves v1 or v2 (up to ${maxStates} crash states)`, async (t) => {
  const s = await v1InstallWithV2Published(t);
  const r = await simulate(s, "real", { rerun: true, limit: maxStates });
  t.diagnostic(
    `trace: ${r.effects} effects, ${r.prefixes} crash points; states: ${r.candidates} generated, ${r.checked} distinct checked; recovered to old: ${r.outcomes.old}, to new: ${r.outcomes.new}; broken: ${r.findings.length}`,
  );
  assert.deepEqual(r.findings.slice(0, 5), []);
  assert.ok(
    r.outcomes.old > 0 && r.outcomes.new > 0,
    "states on both sides of the commit point were checked",
  );
});

/** Skips one fsync the commit protocol needs: the simulator must then find a broken state. */
class SkipOneSync extends ForwardingFileSystem {
  constructor(
    inner: FileSystem,
    private readonly skip: { dir?: RegExp; file?: RegExp },
  ) {
    super(inner);
  }
  override async fsyncDir(path: string): Promise<void> {
    if (!this.skip.dir?.test(path)) await super.fsyncDir(path);
  }
  override async createWriter(path: string, mode?: number): Promise<FileWriter> {
    const w = await super.createWriter(path, mode);
    if (!this.skip.file?.test(path)) return w;
    return { write: (d) => w.write(d), commit: () => w.abort(), abort: () => w.abort() };
  }
}

const teethLimit = Number(process.env.FERRY_POWERLOSS_TEETH_STATES ?? "400");

test("the simulator has teeth: without the fsync of staging/files before the journal it finds a broken state", async (t) => {
  const s = await v1InstallWithV2Published(t);
  const r = await simulate(s, "no-staging-fsync", {
    wrap: (fs) => new SkipOneSync(fs, { dir: /[/\\]staging[/\\]files$/ }),
    rerun: false,
    stopAtFirstFinding: true,
    limit: teethLimit,
  });
  t.diagnostic(`checked ${r.checked} states; first finding: ${r.findings[0] ?? "none"}`);
  assert.ok(r.findings.length > 0, "a missing directory fsync before the commit point is detected");
});

test("the simulator has teeth: without the fsync of the journal's data it finds a broken state", async (t) => {
  const s = await v1InstallWithV2Published(t);
  const r = await simulate(s, "no-journal-fsync", {
    wrap: (fs) => new SkipOneSync(fs, { file: /journal\.json\.tmp-/ }),
    rerun: false,
    stopAtFirstFinding: true,
    limit: teethLimit,
  });
  t.diagnostic(`checked ${r.checked} states; first finding: ${r.findings[0] ?? "none"}`);
  assert.ok(r.findings.length > 0, "a journal whose content is not durable is detected");
});
