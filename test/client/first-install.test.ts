/**
 * A failed first install leaves the directory as it found it: no `.ferry/` in a directory it created,
 * no directory it created itself, and an existing directory exactly as it was; verified downloads are
 * kept (and resumed) when the failure came after them. An install directory that is a file is named so.
 */
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { lstat, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { status } from "../../src/client/ops/inspect.js";
import { update } from "../../src/client/ops/update.js";
import { FerryError, ioError } from "../../src/core/errors.js";
import { ForwardingFileSystem } from "../../src/node/forwarding-fs.js";
import { NodeFileSystem } from "../../src/node/node-fs.js";
import type { FileWriter, VolumeSpace } from "../../src/ports/fs.js";
import { keys } from "../helpers/helpers.js";
import { type BuildFiles, repoFixture } from "../helpers/served-repo.js";

const BUILD: BuildFiles = {
  "game.bin": "the game\n".repeat(30_000),
  "data/a.txt": "a\n",
  "data/b.txt": "b\n".repeat(1000),
};

async function entries(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(join(dir, prefix))).sort()) {
    const rel = prefix ? `${prefix}/${name}` : name;
    const s = await lstat(join(dir, rel));
    out.push(
      `${rel} ${s.mode.toString(8)} ${s.mtimeMs}${s.isFile() ? ` ${await readFile(join(dir, rel), "utf8")}` : ""}`,
    );
    if (s.isDirectory()) out.push(...(await entries(dir, rel)));
  }
  return out;
}

async function failsWith(run: Promise<unknown>, code: string): Promise<FerryError> {
  let caught: unknown;
  await run.then(
    () => assert.fail("the update should fail"),
    (error: unknown) => {
      caught = error;
    },
  );
  assert.ok(caught instanceof FerryError, String(caught));
  assert.equal(caught.code, code, caught.message);
  return caught;
}

/** A port on 127.0.0.1 with nothing listening (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

class FreeSpaceFails extends ForwardingFileSystem {
  override freeSpace(path: string): Promise<VolumeSpace> {
    return Promise.reject(ioError("statfs", path, Object.assign(new Error("EIO"), { code: "EIO" })));
  }
}

/** Assembling staged files fails with EIO (after every chunk was downloaded and verified). */
class AssembleFails extends ForwardingFileSystem {
  override createWriter(path: string, mode?: number): Promise<FileWriter> {
    if (path.includes("/.ferry/staging/files/"))
      return Promise.reject(ioError("create", path, Object.assign(new Error("EIO"), { code: "EIO" })));
    return super.createWriter(path, mode);
  }
}

test("a failed first install into a directory it creates leaves nothing behind", async (t) => {
  const r = await repoFixture(t);
  await r.publish(BUILD, { version: "1.0.0" });
  const before = await entries(r.dir);
  const other = keys();
  const port = await closedPort();
  const cases: [string, () => Promise<unknown>, string][] = [
    [
      "an untrusted key",
      () => update({ ...r.options(join(r.dir, "new", "deep", "game")), trust: [other.pub] }),
      "E_SIGNATURE",
    ],
    [
      "an unreachable repository",
      () =>
        update({ ...r.options(join(r.dir, "game")), repoUrl: `http://127.0.0.1:${port}/`, maxAttempts: 1 }),
      "E_NETWORK",
    ],
    [
      "a disk error before any download",
      () => update({ ...r.options(join(r.dir, "game")), fs: new FreeSpaceFails(new NodeFileSystem()) }),
      "E_IO",
    ],
  ];
  for (const [what, run, code] of cases) {
    await failsWith(run(), code);
    assert.deepEqual(await entries(r.dir), before, `${what}: the parent is as it was`);
    assert.equal(existsSync(join(r.dir, "game")), false, `${what}: no install directory left`);
    assert.equal(existsSync(join(r.dir, "new")), false, `${what}: no parent directory it created left`);
  }
  // The same into an existing directory holding the player's files: left exactly as it was.
  const existing = join(r.dir, "existing");
  await mkdir(join(existing, "saves"), { recursive: true });
  await writeFile(join(existing, "saves", "slot1.sav"), "progress");
  await writeFile(join(existing, "game.bin"), "an older copy");
  const was = await entries(existing);
  await failsWith(update({ ...r.options(existing), trust: [other.pub] }), "E_SIGNATURE");
  assert.deepEqual(await entries(existing), was, "the existing directory is as it was (no .ferry/)");
  await failsWith(update({ ...r.options(existing), fs: new FreeSpaceFails(new NodeFileSystem()) }), "E_IO");
  assert.deepEqual(await entries(existing), was, "the existing directory is as it was after a disk error");

  // And the install still works afterwards.
  await r.update(existing);
  assert.equal((await status({ installDir: existing })).version, "1.0.0");
});

test("a first install that failed after verified downloads keeps them, and the re-run resumes", async (t) => {
  const r = await repoFixture(t);
  await r.publish(BUILD, { version: "1.0.0" });
  const install = join(r.dir, "game");
  await failsWith(update({ ...r.options(install), fs: new AssembleFails(new NodeFileSystem()) }), "E_IO");
  const staged = await readdir(join(install, ".ferry", "staging", "chunks"));
  assert.ok(staged.length > 0, "the verified chunks are kept for the next run");
  assert.equal(existsSync(join(install, ".ferry", "lock")), false, "the lock was released");
  const resumed = await r.update(install);
  assert.equal(resumed.version, "1.0.0");
  assert.equal(resumed.chunksFetched, 0, "nothing downloaded twice");
});

test("an install directory that is a file is reported as a file, not as a failed mkdir", async (t) => {
  const r = await repoFixture(t);
  await r.publish(BUILD, { version: "1.0.0" });
  const file = join(r.dir, "game.txt");
  await writeFile(file, "not a directory");
  for (const [installDir, pattern] of [
    [file, /game\.txt is a file, not a directory/],
    [join(file, "sub"), /cannot be created: .*game\.txt is a file, not a directory/],
  ] as const) {
    const updating = await failsWith(r.update(installDir), "E_IO");
    assert.match(updating.message, pattern);
    assert.doesNotMatch(updating.message, /disk is not full/);
    assert.equal(updating.data.path, file);
    const reading = await failsWith(status({ installDir }), "E_IO");
    assert.match(reading.message, pattern);
  }
  assert.equal(await readFile(file, "utf8"), "not a directory", "the file is untouched");
});
