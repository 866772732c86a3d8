/**
 * The player's own files (docs/FORMAT.md §7 "Displaced files"): an untracked file (or link) at a path a
 * release starts shipping is moved to .ferry/displaced/, never replaced or deleted; `check` reports it
 * before any download; later updates never remove it. Cases: FERRY_PLAYER_FILE_CASES (default 16).
 */
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { readFile, readdir, readlink, symlink, writeFile, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { check, update } from "../../src/client/ops/update.js";
import { readUpdateLog } from "../../src/client/install/update-log.js";
import type { UpdateEvent } from "../../src/client/events.js";
import { seededRandom } from "../../src/testing/random.js";
import { readTree } from "../helpers/helpers.js";
import { servedRepo, type Tree } from "../helpers/install-fixture.js";

const CASES = Number(process.env.FERRY_PLAYER_FILE_CASES ?? 16);

const v1: Tree = { "game.bin": "game v1", "data/a.txt": "a1", "data/b.txt": "b1" };
/** v2 starts shipping paths a player may already have files at. */
const NEW_PATHS = ["saves/settings.ini", "config.ini", "data/c.txt", "mods/x/mod.json", "deep/a/b/c/d.txt"];
const v2: Tree = {
  ...v1,
  "game.bin": "game v2",
  ...Object.fromEntries(NEW_PATHS.map((p) => [p, `rel ${p}`])),
};
const v3: Tree = {
  ...v2,
  "game.bin": "game v3",
  ...Object.fromEntries(NEW_PATHS.map((p) => [p, `v3 ${p}`])),
};

async function treeOf(install: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const path of (await readTree(install)).keys())
    out[path] = await readFile(join(install, path), "utf8");
  return out;
}

/** Every file under .ferry/displaced/, as release path → content (or "-> target" for a link). */
async function displaced(install: string): Promise<Record<string, string>> {
  const root = join(install, ".ferry", "displaced");
  const out: Record<string, string> = {};
  let dirs: string[] = [];
  try {
    dirs = await readdir(root);
  } catch {
    return out;
  }
  for (const dir of dirs) {
    for (const entry of await readdir(join(root, dir), { recursive: true, withFileTypes: true })) {
      if (entry.isDirectory()) continue;
      const native = join(entry.parentPath, entry.name);
      const path = native
        .slice(join(root, dir).length + 1)
        .split("\\")
        .join("/");
      out[path] = entry.isSymbolicLink() ? `-> ${await readlink(native)}` : await readFile(native, "utf8");
    }
  }
  return out;
}

describe("untracked files at paths a release starts shipping", () => {
  it(`are never destroyed: moved to .ferry/displaced/, reported by check (${CASES} random cases)`, async (t) => {
    const r = await servedRepo(t);
    await r.release(v1);
    const template = await r.trial();
    await update({ repoUrl: r.url, installDir: template, trust: [r.pub] });
    await r.release(v2);
    const random = seededRandom(14);
    const outside = join(r.dir, "outside.txt");
    await writeFile(outside, "outside, must never change");
    const trials: { install: string; player: Record<string, string> }[] = [];
    let displacedTotal = 0;
    for (let c = 0; c < CASES; c++) {
      const install = await r.trial(template);
      // A random non-empty subset of the new paths holds a player's file (one in four a link outside).
      const player: Record<string, string> = {};
      for (const path of NEW_PATHS) {
        if (random() >= 0.5 && !(c === 0 && path === NEW_PATHS[0])) continue;
        const native = join(install, ...path.split("/"));
        await mkdir(dirname(native), { recursive: true });
        if (random() < 0.25) {
          await symlink(outside, native);
          player[path] = `-> ${outside}`;
        } else {
          player[path] = `player's own ${path} #${c}`;
          await writeFile(native, player[path]);
        }
      }
      const expected = Object.keys(player).sort();
      // check reports every collision and changes nothing.
      const before = await treeOf(install);
      const answer = await check({ repoUrl: r.url, installDir: install, trust: [r.pub] });
      assert.deepEqual([...(answer.collisions ?? [])].sort(), expected, `case ${c}: check`);
      assert.deepEqual(await treeOf(install), before, `case ${c}: check changed nothing`);
      const events: UpdateEvent[] = [];
      await update({ repoUrl: r.url, installDir: install, trust: [r.pub], onEvent: (e) => events.push(e) });
      assert.deepEqual(await treeOf(install), v2, `case ${c}: the install is v2`);
      assert.deepEqual(await displaced(install), player, `case ${c}: every player file kept, unchanged`);
      const said = events.flatMap((e) => (e.type === "displaced" ? [e.path] : []));
      assert.deepEqual(said.sort(), expected, `case ${c}: one event per displaced file`);
      const log = await readUpdateLog({ installDir: install });
      assert.equal(log.filter((e) => e.kind === "displaced").length, 1, `case ${c}: logged`);
      displacedTotal += expected.length;
      trials.push({ install, player });
    }
    // The next updates (the paths are tracked now) keep the displaced files.
    await r.release(v3);
    for (const { install, player } of trials) {
      await update({ repoUrl: r.url, installDir: install, trust: [r.pub] });
      assert.deepEqual(await treeOf(install), v3);
      assert.deepEqual(await displaced(install), player);
    }
    assert.equal(await readFile(outside, "utf8"), "outside, must never change");
    assert.ok(displacedTotal >= CASES, `${displacedTotal} player files displaced over ${CASES} cases`);
  });

  it("adoption: a file identical to the release is kept in place, a different one is displaced", async (t) => {
    const r = await servedRepo(t);
    await r.release(v2);
    const install = await r.trial();
    for (const [path, text] of Object.entries(v2).filter(([p]) => p !== "config.ini")) {
      const native = join(install, ...path.split("/"));
      await mkdir(dirname(native), { recursive: true });
      await writeFile(native, text);
    }
    await writeFile(join(install, "config.ini"), "player's config");
    const answer = await check({ repoUrl: r.url, installDir: install, trust: [r.pub] });
    assert.deepEqual(answer.collisions, ["config.ini"]);
    const summary = await update({ repoUrl: r.url, installDir: install, trust: [r.pub] });
    assert.equal(summary.filesWritten, 1, "only the differing file is written");
    assert.deepEqual(await treeOf(install), v2);
    assert.deepEqual(await displaced(install), { "config.ini": "player's config" });
  });
});
