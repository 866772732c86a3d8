/**
 * The read-only commands' answers on directories that are not installs: `ferry log` says so (exit 1,
 * E_NOT_INSTALLED), `ferry can-update` answers for a first install (exit 0) or names the file in the way.
 */
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { tempDir } from "../helpers/helpers.js";
import { ferry } from "../helpers/cli.js";
import { repoFixture } from "../helpers/served-repo.js";

test("ferry log on a directory that is not an install: E_NOT_INSTALLED, exit 1", async (t) => {
  const dir = await tempDir(t);
  const half = join(dir, "half");
  await mkdir(join(half, ".ferry"), { recursive: true }); // a .ferry/ with nothing installed or logged
  const file = join(dir, "file");
  await writeFile(file, "x");
  for (const target of [dir, join(dir, "absent"), half, file]) {
    const run = await ferry("log", target);
    assert.equal(run.code, 1, `${target}: ${run.stdout}${run.stderr}`);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /^ferry: E_NOT_INSTALLED: .*not a Ferry install|no Ferry install/);
    assert.ok(run.stderr.includes(target), run.stderr);
  }
  assert.equal(existsSync(join(dir, "absent")), false, "nothing created");
});

test("ferry log on an install prints its entries", async (t) => {
  const r = await repoFixture(t);
  await r.publish({ "a.txt": "a" }, { version: "1.0.0" });
  const install = join(r.dir, "game");
  await r.update(install);
  const run = await ferry("log", install, "--json");
  assert.equal(run.code, 0, run.stderr);
  const lines = run.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { kind: string; version: string });
  assert.deepEqual(
    lines.map((l) => [l.kind, l.version]),
    [["updated", "1.0.0"]],
  );
});

test("ferry can-update answers for a first install, and names a file in the way", async (t) => {
  const dir = await tempDir(t);
  const existing = join(dir, "existing");
  await mkdir(existing);
  await writeFile(join(existing, "game.bin"), "an older copy");
  const empty = await ferry("can-update", join(dir, "new", "game"));
  assert.equal(empty.code, 0, empty.stderr);
  assert.match(empty.stdout, /^Can install: no install yet .*the first update creates it.*empty/);
  assert.equal(existsSync(join(dir, "new")), false, "can-update created nothing");

  const adopt = await ferry("can-update", existing, "--json");
  assert.equal(adopt.code, 0, adopt.stderr);
  assert.deepEqual(JSON.parse(adopt.stdout), {
    type: "result",
    ok: true,
    reasons: [],
    version: null,
    firstInstall: true,
    directory: { exists: true, writable: true, empty: false, entries: 1 },
  });
  const text = await ferry("can-update", existing);
  assert.match(text.stdout, /1 existing entry is adopted/);

  const file = join(dir, "file");
  await writeFile(file, "x");
  const blocked = await ferry("can-update", file);
  assert.equal(blocked.code, 1);
  assert.match(blocked.stdout, /Cannot update: E_NOT_WRITABLE: .*file is a file, not a directory/);
});
