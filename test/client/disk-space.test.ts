import "../../src/register-node.js";
import assert from "node:assert/strict";
import { statfsSync } from "node:fs";
import { cp, lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { update } from "../../src/client/ops/update.js";
import { isFerryError } from "../../src/core/errors.js";
import type { FileEntry, Manifest } from "../../src/core/manifest.js";
import type { Plan } from "../../src/core/planner.js";
import { spaceNeeded } from "../../src/core/space.js";
import { ForwardingFileSystem } from "../../src/node/forwarding-fs.js";
import { NodeFileSystem } from "../../src/node/node-fs.js";
import { LowSpaceFileSystem } from "../../src/testing/space-fs.js";
import { expectedTree, readTree, sortedEntries, v1InstallWithV2Published } from "../helpers/helpers.js";

const hash = (c: string): string => c.repeat(64);

function entry(path: string, size: number): FileEntry {
  return { path, size, sha256: hash("a"), executable: false, package: "base", chunks: [] };
}

test("spaceNeeded: fetched chunks and new files in whole blocks, plus bounded metadata", () => {
  const chunk = (c: string, size: number) => ({
    hash: hash(c),
    size,
    pack: 0,
    offset: 0,
    length: size,
    codec: "raw" as const,
  });
  const writes = [entry("a.bin", 5000), entry("dir/b.txt", 1)];
  const plan = {
    keep: ["c.txt"],
    writes: writes.map((file) => ({ file, sources: [] })),
    deletes: ["old.txt"],
    fetch: [chunk("1", 4096), chunk("2", 4097), chunk("3", 10)],
    ranges: [],
    downloadBytes: 0,
    writeBytes: 5001,
  } satisfies Plan;
  const manifest = { files: [...writes, entry("c.txt", 7)] } as unknown as Manifest;
  const n = spaceNeeded({ plan, manifest, manifestBytes: 3000, pointerBytes: 500, blockSize: 4096 });
  assert.equal(n.chunks, 4096 + 8192 + 4096, "each chunk rounded up to whole blocks");
  assert.equal(n.files, 8192 + 4096, "each new file rounded up to whole blocks");
  // state: 4096 fixed + 500 pointer + per file (2 × path bytes + 96); journal adds moves and deletes.
  const state = 4096 + 500 + (2 * 5 + 96) + (2 * 9 + 96) + (2 * 5 + 96);
  const journal = state + (2 * 5 + 32) + (2 * 9 + 32) + (2 * 7 + 4);
  const blocks = (b: number) => Math.ceil(b / 4096) * 4096;
  assert.equal(n.metadata, blocks(3000) + blocks(state) + blocks(journal));
  // staging/ + chunk entries (3 × 80) + file entries (2 × 16) + two parent directories ("" and "dir").
  assert.equal(n.directories, 4096 + 4096 + 4096 + 2 * 4096);
  assert.equal(n.total, n.chunks + n.files + n.metadata + n.directories);
  const bigger = spaceNeeded({ plan, manifest, manifestBytes: 3000, pointerBytes: 500, blockSize: 65536 });
  assert.ok(bigger.total > n.total, "a larger allocation unit needs more space");
});

test("an update the disk cannot hold is refused before any download with E_NO_SPACE; the install is unchanged", async (t) => {
  const s = await v1InstallWithV2Published(t);
  const install = join(s.dir, "install");
  await cp(s.template, install, { recursive: true });
  const v1 = JSON.stringify(sortedEntries(expectedTree(1)));
  const run = (available: number) =>
    update({
      repoUrl: s.server.url,
      installDir: install,
      trust: [s.pub],
      fs: new LowSpaceFileSystem(new NodeFileSystem(), { available, blockSize: 4096 }),
    });

  let needed = 0;
  await assert.rejects(run(10_000), (e: unknown) => {
    assert.ok(isFerryError(e, "E_NO_SPACE"), String(e));
    needed = Number(e.data.needed);
    assert.equal(e.data.available, 10_000);
    assert.ok(e.message.includes(String(needed)) && e.message.includes("10000"), e.message);
    assert.ok(e.message.includes(install), "the message names the install directory");
    return true;
  });
  assert.equal(JSON.stringify(sortedEntries(await readTree(install))), v1);
  assert.deepEqual(
    await readdir(join(install, ".ferry", "staging", "chunks")).catch(() => []),
    [],
    "nothing downloaded",
  );

  // The boundary is exact: one byte short fails, the estimate itself passes.
  await assert.rejects(run(needed - 1), (e: unknown) => isFerryError(e, "E_NO_SPACE"));
  assert.equal(JSON.stringify(sortedEntries(await readTree(install))), v1);
  await run(needed);
  assert.equal(
    JSON.stringify(sortedEntries(await readTree(install))),
    JSON.stringify(sortedEntries(expectedTree(2))),
  );
});

/** Allocated bytes (st_blocks × 512) of everything below `dir`. */
async function allocated(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) {
    const s = await lstat(join(dir, name));
    total += s.blocks * 512;
    if (s.isDirectory()) total += (await allocated(join(dir, name))) - 0;
  }
  return total;
}

/** Measures the install's allocated size at the commit point (once the journal is in place). */
class PeakProbe extends ForwardingFileSystem {
  peak = 0;
  constructor(
    inner: NodeFileSystem,
    private readonly root: string,
  ) {
    super(inner);
  }
  override async rename(from: string, to: string): Promise<void> {
    await super.rename(from, to);
    if (to.endsWith("journal.json")) this.peak = await allocated(this.root);
  }
}

test("the estimate bounds the space the update really takes at its peak (the commit point)", async (t) => {
  const s = await v1InstallWithV2Published(t);
  const install = join(s.dir, "install");
  await cp(s.template, install, { recursive: true });
  const before = await allocated(install);
  // First learn the estimate (a refusal), then run for real and measure.
  let estimate = 0;
  await assert.rejects(
    update({
      repoUrl: s.server.url,
      installDir: install,
      trust: [s.pub],
      fs: new LowSpaceFileSystem(new NodeFileSystem(), {
        available: 0,
        blockSize: statfsSync(install).bsize,
      }),
    }),
    (e: unknown) => {
      estimate = isFerryError(e, "E_NO_SPACE") ? Number(e.data.needed) : -1;
      return estimate > 0;
    },
  );
  const probe = new PeakProbe(new NodeFileSystem(), install);
  await update({ repoUrl: s.server.url, installDir: install, trust: [s.pub], fs: probe });
  const used = probe.peak - before;
  t.diagnostic(
    `peak growth at the commit point: ${used} bytes; estimate: ${estimate} bytes (${((used / estimate) * 100).toFixed(1)}%)`,
  );
  assert.ok(used > 0 && used <= estimate, `peak ${used} exceeds the estimate ${estimate}`);
});
