import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { buildZip } from "../../src/testing/zip-writer.js";
import { ferry } from "../helpers/cli.js";
import { tempDir } from "../helpers/helpers.js";

test("CLI: mount add/list/remove and resolve print which mount serves a path", async (t) => {
  const dir = await tempDir(t);
  const game = join(dir, "game");
  await mkdir(join(dir, "base", "img"), { recursive: true });
  await writeFile(join(dir, "base", "img", "a.png"), "base");
  await writeFile(join(dir, "base", "b.txt"), "base");
  await writeFile(
    join(dir, "patch.zip"),
    buildZip([{ name: "img/a.png", data: new TextEncoder().encode("patched"), method: 8 }]),
  );

  const add = async (...args: string[]) => ferry("mount", "add", game, ...args, "--runtime", "1.0");
  assert.equal((await add("base", join(dir, "base"), "--priority", "0")).code, 0);
  const added = await add("patch", join(dir, "patch.zip"), "--priority", "10", "--json");
  assert.equal(added.code, 0, added.stderr);
  assert.deepEqual(JSON.parse(added.stdout), {
    type: "result",
    name: "patch",
    priority: 10,
    uri: join(dir, "patch.zip"),
    kind: "zip",
    persisted: true,
  });
  const clash = await add("other", join(dir, "base"), "--priority", "10");
  assert.equal(clash.code, 1);
  assert.match(clash.stderr, /E_MOUNT_CONFLICT: .*same as mount patch/);

  const resolved = await ferry("resolve", game, "img/a.png", "--runtime", "1.0");
  assert.equal(resolved.code, 0, resolved.stderr);
  assert.match(resolved.stdout, /^img\/a\.png: mount patch \(zip .*patch\.zip, priority 10\), 7 bytes\n$/);
  const json = await ferry("resolve", game, "b.txt", "--runtime", "1.0", "--json");
  assert.deepEqual(
    (({ name, kind, size }) => ({ name, kind, size }))(
      JSON.parse(json.stdout) as { name: string; kind: string; size: number },
    ),
    { name: "base", kind: "directory", size: 4 },
  );
  const missing = await ferry("resolve", game, "nope.txt", "--runtime", "1.0");
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /E_NOT_FOUND: No mount serves nope\.txt/);
  const unsafe = await ferry("resolve", game, "../etc/passwd", "--runtime", "1.0");
  assert.equal(unsafe.code, 1);
  assert.match(unsafe.stderr, /E_UNSAFE_PATH/);

  const list = await ferry("mount", "list", game);
  assert.equal(list.code, 0);
  assert.match(list.stdout, /^ {4}10 {2}patch {2}zip .*\n {5}0 {2}base {2}directory .*\n$/);

  assert.equal((await ferry("mount", "remove", game, "patch")).code, 0);
  const after = await ferry("resolve", game, "img/a.png", "--runtime", "1.0");
  assert.match(after.stdout, /mount base/);
  const gone = await ferry("mount", "remove", game, "patch");
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /E_NOT_FOUND/);
});

test("CLI: a new runtime reports persisted mounts as stale and keeps them; prune removes them; usage errors exit 2", async (t) => {
  const dir = await tempDir(t);
  const game = join(dir, "game");
  await mkdir(join(dir, "mod"));
  await writeFile(join(dir, "mod", "x"), "x");
  assert.equal(
    (await ferry("mount", "add", game, "mod", join(dir, "mod"), "--priority", "1", "--runtime", "1.0")).code,
    0,
  );
  const upgraded = await ferry("resolve", game, "x", "--runtime", "2.0");
  assert.equal(upgraded.code, 1);
  assert.match(upgraded.stderr, /persisted mount mod not used: E_MOUNT_STALE: .*runtime 1\.0/);
  const kept = JSON.parse((await ferry("mount", "list", game, "--json")).stdout) as {
    mounts: { name: string }[];
    dropped: unknown[];
  };
  assert.deepEqual(
    kept.mounts.map((m) => m.name),
    ["mod"],
  );
  assert.deepEqual(kept.dropped, []);
  assert.equal(
    (await ferry("resolve", game, "x", "--runtime", "1.0")).code,
    0,
    "the old runtime still has it",
  );
  const prune = await ferry("mount", "prune", game, "--runtime", "2.0", "--json");
  assert.equal(prune.code, 0, prune.stderr);
  const list = await ferry("mount", "list", game, "--json");
  const listed = JSON.parse(list.stdout) as {
    mounts: unknown[];
    dropped: { name: string; code: string; time: string }[];
  };
  assert.deepEqual(listed.mounts, []);
  assert.deepEqual(
    listed.dropped.map((d) => [d.name, d.code]),
    [["mod", "E_MOUNT_STALE"]],
  );
  assert.match(listed.dropped[0]!.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

  for (const args of [
    ["mount", "add", game, "m", join(dir, "mod"), "--runtime", "1"], // no --priority
    ["mount", "add", game, "m", join(dir, "mod"), "--priority", "1.5", "--runtime", "1"],
    ["mount", "add", game, "m", join(dir, "mod"), "--priority", "1"], // no --runtime
    ["mount", "add", game, "bad name", join(dir, "mod"), "--priority", "1", "--runtime", "1"],
    ["mount", "list", game, "--trust", "x"], // another command's flag
    ["mount", "frobnicate", game],
    ["resolve", game],
    ["mount", "prune", game], // no --runtime
  ]) {
    const r = await ferry(...args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /E_USAGE/);
  }
});
