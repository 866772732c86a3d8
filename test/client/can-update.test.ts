import "../../src/register-node.js";
import assert from "node:assert/strict";
import { open, stat, utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { canUpdate } from "../../src/client/ops/can-update.js";
import { check, update } from "../../src/client/ops/update.js";
import { FerryError } from "../../src/core/errors.js";
import { ForwardingFileSystem } from "../../src/node/forwarding-fs.js";
import { NodeFileSystem } from "../../src/node/node-fs.js";
import { sampleGame } from "../../src/testing/game-fixture.js";
import { expectedTree, readTree, sortedEntries, tempDir } from "../helpers/helpers.js";
import { repoFixture } from "../helpers/served-repo.js";

/** v1 of the sample game published with a runtime and notes, served, and installed. */
async function setup(t: Parameters<typeof tempDir>[0]) {
  const fixture = await repoFixture(t);
  const dir = fixture.dir;
  await fixture.publish(sampleGame(1), {
    build: "build",
    version: "1.0.0",
    runtime: "engine-1",
    notes: "First release.\nHave fun.",
    created: new Date(Date.UTC(2026, 0, 1)),
    expiresInDays: 36500,
    rootExpiresInDays: 36500,
  });
  const install = join(dir, "install");
  const options = fixture.options(install);
  return { dir, install, options };
}

/** A file system on which creating files under `dir` fails, as on a read-only mount. */
class ReadOnlyUnder extends ForwardingFileSystem {
  constructor(private readonly dir: string) {
    super(new NodeFileSystem());
  }
  override writable(path: string): Promise<string | undefined> {
    return path.startsWith(this.dir) ? Promise.resolve("EROFS") : super.writable(path);
  }
  override createExclusive(path: string, data: Uint8Array): Promise<boolean> {
    if (path.startsWith(this.dir))
      return Promise.reject(
        new FerryError("E_IO", `create failed for ${path}: EROFS`, { path, systemCode: "EROFS" }),
      );
    return super.createExclusive(path, data);
  }
}

test("canUpdate: not installed, then installed; runtime must match what the release declares", async (t) => {
  const s = await setup(t);
  // No install yet: the answer is about a first install (the directory would be created).
  const before = await canUpdate({ installDir: s.install });
  assert.deepEqual(before, {
    ok: true,
    reasons: [],
    version: null,
    firstInstall: true,
    directory: { exists: false, writable: true, empty: true, entries: 0 },
  });
  const checked = await check(s.options);
  assert.equal(checked.notes, "First release.\nHave fun.");
  assert.equal(checked.runtime, "engine-1");
  await update(s.options);
  assert.deepEqual(await canUpdate({ installDir: s.install }), {
    ok: true,
    reasons: [],
    version: "1.0.0",
    firstInstall: false,
    directory: null,
  });
  assert.equal((await canUpdate({ installDir: s.install, runtime: "engine-1" })).ok, true);
  const other = await canUpdate({ installDir: s.install, runtime: "engine-2" });
  assert.equal(other.ok, false);
  assert.deepEqual(
    other.reasons.map((r) => r.code),
    ["E_RUNTIME"],
  );
  assert.match(other.reasons[0]!.message, /engine-1.*engine-2/);
});

test("canUpdate: a live updater's lock and an unwritable directory are reasons; a dead one's lock is not", async (t) => {
  const s = await setup(t);
  await update(s.options);
  const lock = join(s.install, ".ferry", "lock");
  await writeFile(lock, JSON.stringify({ pid: process.ppid, host: hostname(), started: "x" }));
  const locked = await canUpdate({ installDir: s.install });
  assert.deepEqual(
    locked.reasons.map((r) => r.code),
    ["E_LOCKED"],
  );
  // A pid far above any pid_max in use: the owner is gone, and the next update takes the lock over.
  await writeFile(lock, JSON.stringify({ pid: 2 ** 30, host: hostname(), started: "x" }));
  assert.equal((await canUpdate({ installDir: s.install })).ok, true);

  const readOnly = await canUpdate({ installDir: s.install, fs: new ReadOnlyUnder(s.install) });
  assert.deepEqual(
    readOnly.reasons.map((r) => r.code),
    ["E_NOT_WRITABLE", "E_NOT_WRITABLE"],
  );
  assert.match(readOnly.reasons[0]!.message, /not writable/);
  await writeFile(join(s.install, ".ferry", "state.json"), "{not json");
  assert.equal((await canUpdate({ installDir: s.install })).reasons[0]?.code, "E_FORMAT");
});

test("force reinstalls the current release in place: every file rewritten, damage hidden from the stat cache repaired", async (t) => {
  const s = await setup(t);
  await update(s.options);
  // Damage a file in place keeping its size, inode and mtime: the stat cache cannot see it.
  const victim = join(s.install, "data", "levels.pak");
  const before = await stat(victim);
  const handle = await open(victim, "r+");
  await handle.write(Buffer.from("CORRUPT"), 0, 7, 1000);
  await handle.close();
  // The same whole millisecond (the stat cache keeps floor(mtimeMs)); a Date could round up.
  await utimes(victim, before.atime, (Math.floor(before.mtimeMs) + 0.5) / 1000);
  const normal = await update(s.options);
  assert.equal(normal.upToDate, true, `a normal update trusts the stat cache: ${JSON.stringify(normal)}`);
  assert.notDeepEqual(sortedEntries(await readTree(s.install)), sortedEntries(expectedTree(1)));

  const forced = await update({ ...s.options, force: true });
  assert.equal(forced.upToDate, false);
  assert.equal(forced.filesWritten, expectedTree(1).size, "every file of the release is rewritten");
  assert.equal(forced.filesKept, 0);
  assert.ok(forced.bytesReused > 0, "intact chunks come from the files on disk");
  assert.ok(forced.chunksFetched >= 1 && forced.chunksFetched <= 2, `${forced.chunksFetched} chunks fetched`);
  assert.deepEqual(sortedEntries(await readTree(s.install)), sortedEntries(expectedTree(1)));
  const again = await update(s.options);
  assert.equal(again.upToDate, true);
});
