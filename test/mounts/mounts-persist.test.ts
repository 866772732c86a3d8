import "../../src/register-node.js";
import assert from "node:assert/strict";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { FerryError } from "../../src/core/errors.js";
import { Mounts } from "../../src/mounts/mounts.js";
import { mountsFilePath } from "../../src/mounts/persist.js";
import { buildZip } from "../../src/testing/zip-writer.js";
import { tempDir } from "../helpers/helpers.js";
import { repoFixture } from "../helpers/served-repo.js";

const enc = (text: string) => new TextEncoder().encode(text);
const dec = (data: Uint8Array) => new TextDecoder().decode(data);
const fixedClock = (iso: string) => ({ now: () => new Date(iso), sleep: () => Promise.resolve() });

/** A Ferry install of a two-file release, a directory and a zip archive, each with its own version of a.txt. */
async function setup(t: Parameters<typeof tempDir>[0]) {
  const fixture = await repoFixture(t);
  const dir = fixture.dir;
  await fixture.publish(
    { "a.txt": "from install", "data/base.json": "{}" },
    { build: "build", version: "1.0.0", expiresInDays: 30, rootExpiresInDays: 30 },
  );
  const install = join(dir, "game");
  await fixture.update(install);
  await writeFile(join(install, "save.dat"), "untracked"); // beside the install, not part of it
  const modDir = join(dir, "mod");
  await mkdir(modDir);
  await writeFile(join(modDir, "a.txt"), "from mod dir");
  const zip = join(dir, "dlc.zip");
  await writeFile(
    zip,
    buildZip([
      { name: "a.txt", data: enc("from zip"), method: 8 },
      { name: "dlc/level.bin", data: enc("L") },
    ]),
  );
  return { dir, install, modDir, zip, home: join(dir, "home") };
}

test("mounts: a Ferry install serves exactly its recorded files; priorities decide; all persist and reopen", async (t) => {
  const s = await setup(t);
  const mounts = await Mounts.open({
    runtime: "app-1.0",
    installDir: s.home,
    clock: fixedClock("2026-11-22T03:00:00Z"),
  });
  await mounts.addMount("base", s.install, 0);
  await mounts.addMount("dlc", s.zip, 10);
  await mounts.addMount("mod", s.modDir, 20);
  assert.equal(
    (await mounts.resolve("save.dat"))?.name,
    undefined,
    "untracked files of an install are not served",
  );
  assert.equal((await mounts.resolve("data/base.json"))?.kind, "ferry-install");
  assert.equal(dec(await mounts.readFile("a.txt")), "from mod dir");
  await assert.rejects(
    mounts.addMount("other", s.modDir, 10),
    (e: FerryError) => e.code === "E_MOUNT_CONFLICT",
  );
  await assert.rejects(mounts.resolve("../a.txt"), (e: FerryError) => e.code === "E_UNSAFE_PATH");
  await assert.rejects(mounts.readFile("nothing"), (e: FerryError) => e.code === "E_NOT_FOUND");
  await mounts.removeMount("mod");
  assert.equal(dec(await mounts.readFile("a.txt")), "from zip");

  const again = await Mounts.open({ runtime: "app-1.0", installDir: s.home });
  assert.deepEqual(
    again.getMounts().map((m) => [m.name, m.priority, m.kind, m.persisted]),
    [
      ["dlc", 10, "zip", true],
      ["base", 0, "ferry-install", true],
    ],
  );
  assert.deepEqual(again.stale, []);
  assert.equal(dec(await again.readFile("a.txt")), "from zip");
  assert.equal((await again.open("dlc/level.bin")).size, 1);
});

test("mounts: a persisted archive whose content changed is stale: reported, never used, kept until pruned", async (t) => {
  const s = await setup(t);
  const first = await Mounts.open({ runtime: "app-1.0", installDir: s.home });
  await first.addMount("base", s.install, 0);
  await first.addMount("dlc", s.zip, 10);
  await first.addMount("mod", s.modDir, 20);
  // The archive is replaced (an app update shipped a new one), and the mod directory disappears.
  await writeFile(s.zip, buildZip([{ name: "a.txt", data: enc("new zip") }]));
  await rm(s.modDir, { recursive: true });
  const before = await readFile(mountsFilePath(s.home));
  const reopened = await Mounts.open({
    runtime: "app-1.0",
    installDir: s.home,
    clock: fixedClock("2026-11-22T04:00:00Z"),
  });
  assert.deepEqual(
    reopened.stale.map((d) => [d.name, d.code, d.time]),
    [
      ["mod", "E_NOT_FOUND", "2026-11-22T04:00:00Z"],
      ["dlc", "E_MOUNT_STALE", "2026-11-22T04:00:00Z"],
    ],
  );
  assert.match(reopened.stale[1]!.message, /content changed/);
  assert.deepEqual(
    reopened.getMounts().map((m) => m.name),
    ["base"],
  );
  assert.equal(dec(await reopened.readFile("a.txt")), "from install", "the stale archive is not used");
  assert.deepEqual(await readFile(mountsFilePath(s.home)), before, "opening and reading never write");
  // Pruning (an explicit write) records the drop in the file and removes the stale mounts from it.
  const pruned = await reopened.prune();
  assert.deepEqual(
    pruned.map((d) => d.name),
    ["mod", "dlc"],
  );
  const file = JSON.parse(await readFile(mountsFilePath(s.home), "utf8")) as {
    mounts: { name: string }[];
    dropped: { name: string; code: string; message: string; time: string }[];
  };
  assert.deepEqual(
    file.mounts.map((m) => m.name),
    ["base"],
  );
  assert.deepEqual(
    file.dropped.map((d) => d.name),
    ["mod", "dlc"],
  );
  assert.match(file.dropped[1]!.message, /dlc/);
  // Opening again finds nothing stale; the history stays.
  const third = await Mounts.open({ runtime: "app-1.0", installDir: s.home });
  assert.deepEqual(third.stale, []);
  assert.equal(third.droppedHistory.length, 2);
});

test("mounts: under another runtime (an app upgrade) every persisted mount is stale but kept; a corrupt archive too", async (t) => {
  const s = await setup(t);
  const first = await Mounts.open({ runtime: "app-1.0", installDir: s.home });
  await first.addMount("dlc", s.zip, 10);
  await first.addMount("mod", s.modDir, 20);
  const upgraded = await Mounts.open({ runtime: "app-2.0", installDir: s.home });
  assert.deepEqual(
    upgraded.stale.map((d) => [d.name, d.code]),
    [
      ["mod", "E_MOUNT_STALE"],
      ["dlc", "E_MOUNT_STALE"],
    ],
  );
  assert.match(upgraded.stale[0]!.message, /runtime app-1\.0.*app-2\.0/);
  assert.deepEqual(upgraded.getMounts(), []);
  // The old runtime still finds both: a read under app-2.0 deleted nothing.
  const back = await Mounts.open({ runtime: "app-1.0", installDir: s.home });
  assert.deepEqual(
    back.getMounts().map((m) => m.name),
    ["mod", "dlc"],
  );
  // Re-added under the new runtime (supersedes the stale record), then the archive is truncated.
  await upgraded.addMount("dlc", s.zip, 10);
  const file = JSON.parse(await readFile(mountsFilePath(s.home), "utf8")) as {
    mounts: { name: string; runtime: string }[];
  };
  assert.deepEqual(
    file.mounts.map((m) => [m.name, m.runtime]),
    [
      ["dlc", "app-2.0"],
      ["mod", "app-1.0"],
    ],
  );
  await writeFile(s.zip, (await readFile(s.zip)).subarray(0, 40));
  const next = await Mounts.open({ runtime: "app-2.0", installDir: s.home });
  assert.deepEqual(
    next.stale.map((d) => [d.name, d.code]),
    [
      ["dlc", "E_FORMAT"],
      ["mod", "E_MOUNT_STALE"],
    ],
  );
  // removeMount removes a stale mount from the file too.
  await next.removeMount("mod");
  const last = await Mounts.open({ runtime: "app-1.0", installDir: s.home });
  assert.deepEqual(
    last.stale.map((d) => d.name),
    ["dlc"],
  );
});

test("mounts: a directory turned into a Ferry install (or back) is not the mount recorded", async (t) => {
  const s = await setup(t);
  const first = await Mounts.open({ runtime: "r", installDir: s.home });
  await first.addMount("mod", s.modDir, 5);
  await mkdir(join(s.modDir, ".ferry"));
  await writeFile(join(s.modDir, ".ferry", "state.json"), "{}");
  const next = await Mounts.open({ runtime: "r", installDir: s.home });
  assert.deepEqual(
    next.stale.map((d) => [d.name, d.code]),
    [["mod", "E_MOUNT_STALE"]],
  );
  assert.match(next.stale[0]!.message, /directory and is now a ferry-install/);
});
