import "../../src/register-node.js";
import { existsSync } from "node:fs";
import assert from "node:assert/strict";
import { cp, mkdir, readdir, readFile, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { status, verify } from "../../src/client/ops/inspect.js";
import { update } from "../../src/client/ops/update.js";
import { isFerryError } from "../../src/core/errors.js";
import { serveRepository } from "../../src/server/static-server.js";
import { keys, readTree, tempDir } from "../helpers/helpers.js";
import { repoFixture } from "../helpers/served-repo.js";

type Files = Record<string, string>;

async function setup(t: Parameters<typeof tempDir>[0], v1: Files) {
  const served = await repoFixture(t);
  let n = 0;
  const release = async (files: Files) => {
    n++;
    await served.publish(files, { build: `build${n}`, version: `${n}.0` });
  };
  await release(v1);
  const install = join(served.dir, "install");
  const run = () => served.update(install);
  await run();
  return { dir: served.dir, install, release, run };
}

function names(tree: Map<string, string>): string[] {
  return [...tree.keys()].sort();
}

test("a directory the new release turns into a file, holding an untracked file, fails before the commit", async (t) => {
  const s = await setup(t, { "a.txt": "a1", "mods/readme.txt": "r", "z.txt": "z1" });
  await writeFile(join(s.install, "mods", "user.dat"), "player's mod");
  await s.release({ "a.txt": "a2", mods: "now a file", "z.txt": "z2" });
  await assert.rejects(
    s.run(),
    (e: unknown) => isFerryError(e, "E_UNSAFE_PATH") && e.message.includes("user.dat"),
  );
  // Still exactly v1 (plus the untracked file), and every command still works.
  assert.equal(await readFile(join(s.install, "a.txt"), "utf8"), "a1");
  assert.equal(await readFile(join(s.install, "z.txt"), "utf8"), "z1");
  assert.equal((await status({ installDir: s.install })).version, "1.0");
  assert.equal((await verify({ installDir: s.install })).ok, true);
  // Once the player moves the mod away, the update goes through and the directory becomes a file.
  await rm(join(s.install, "mods", "user.dat"));
  await s.run();
  assert.equal(await readFile(join(s.install, "mods"), "utf8"), "now a file");
});

test("a file becomes a directory and back", async (t) => {
  const s = await setup(t, { "x/a": "1", y: "file" });
  await s.release({ x: "file now", "y/b": "dir now" });
  await s.run();
  assert.deepEqual(names(await readTree(s.install)), ["x", "y/b"]);
  await s.release({ "x/a": "1", y: "file" });
  await s.run();
  assert.deepEqual(names(await readTree(s.install)), ["x/a", "y"]);
});

test("deletes never follow a symlinked directory out of the install", async (t) => {
  const s = await setup(t, { "data/a.pak": "a", "keep.txt": "k" });
  const outside = join(s.dir, "outside", "data");
  await mkdir(outside, { recursive: true });
  await writeFile(join(outside, "a.pak"), "precious");
  await rm(join(s.install, "data"), { recursive: true });
  await symlink(outside, join(s.install, "data"));
  await s.release({ "keep.txt": "k2" });
  await assert.rejects(s.run(), (e: unknown) => isFerryError(e, "E_UNSAFE_PATH"));
  assert.equal(await readFile(join(outside, "a.pak"), "utf8"), "precious");
});

test("a case-only rename keeps the file", async (t) => {
  const s = await setup(t, { "Readme.txt": "same", "game.bin": "g" });
  await s.release({ "README.txt": "same", "game.bin": "g" });
  await s.run();
  assert.deepEqual(names(await readTree(s.install)), ["README.txt", "game.bin"]);
});

test("files dated before 1970 and a copied install (new inodes) keep working and are re-hashed once", async (t) => {
  const s = await setup(t, { "old.txt": "from an archive", "b.txt": "b" });
  await utimes(join(s.install, "old.txt"), new Date("1960-01-01"), new Date("1960-01-01"));
  await s.release({ "old.txt": "from an archive", "b.txt": "b2" });
  await s.run();
  assert.equal((await status({ installDir: s.install })).version, "2.0");
  const copy = join(s.dir, "copy");
  await cp(s.install, copy, { recursive: true });
  await rm(s.install, { recursive: true });
  await cp(copy, s.install, { recursive: true });
  const first = await s.run();
  const second = await s.run();
  assert.ok(first.bytesHashed > 0, "new inodes: files are re-hashed");
  assert.equal(second.bytesHashed, 0, "the refreshed stat cache was saved");
});

test("hostile input: a deeply nested pointer and a bad repository URL are typed errors", async (t) => {
  const dir = await tempDir(t);
  const repo = join(dir, "repo");
  await mkdir(join(repo, "channels"), { recursive: true });
  const deep = "[".repeat(30_000) + "]".repeat(30_000);
  await writeFile(join(repo, "channels", "stable.json"), `{"signed":{"x":${deep}},"signatures":[]}`);
  const server = await serveRepository({ root: repo });
  t.after(() => server.close());
  const trust = [keys().pub];
  await assert.rejects(update({ repoUrl: server.url, installDir: join(dir, "i"), trust }), (e: unknown) =>
    isFerryError(e, "E_FORMAT"),
  );
  await assert.rejects(update({ repoUrl: "not a url", installDir: join(dir, "i"), trust }), (e: unknown) =>
    isFerryError(e, "E_USAGE"),
  );
  await assert.rejects(
    update({ repoUrl: server.url, installDir: join(dir, "i"), trust, channel: "../x" }),
    (e: unknown) => isFerryError(e, "E_USAGE"),
  );
  // A failed first install leaves nothing: not the install directory it created, nor a .ferry/ in it.
  assert.equal(existsSync(join(dir, "i")), false, "nothing was staged and no lock was left");
});

test("a lost copy of the installed manifest is fetched again by its pinned hash", async (t) => {
  const s = await setup(t, { "a.txt": "a", "b.txt": "b" });
  const manifests = join(s.install, ".ferry", "manifests");
  for (const name of await readdir(manifests)) await writeFile(join(manifests, name), "damaged");
  await s.release({ "a.txt": "a2" });
  await s.run();
  assert.deepEqual(
    names(await readTree(s.install)),
    ["a.txt"],
    "b.txt, tracked by the old release, is deleted",
  );
  assert.equal((await verify({ installDir: s.install })).ok, true);
});
