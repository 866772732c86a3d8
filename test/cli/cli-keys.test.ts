/**
 * Key management through the CLI, as a studio would run it: an offline root key, a CI release key,
 * root init, publish, a client trusting only the root key, rotation of the release key, resign.
 */
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { serveRepository } from "../../src/server/static-server.js";
import { sampleGame, writeGame } from "../../src/testing/game-fixture.js";
import { ferry } from "../helpers/cli.js";
import { expectedTree, readTree, sortedEntries, tempDir } from "../helpers/helpers.js";

async function ok(...args: string[]): Promise<string> {
  const r = await ferry(...args);
  assert.equal(r.code, 0, `ferry ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

test("CLI: root init with an offline root key, publish with a release key, rotate, resign", async (t) => {
  const dir = await tempDir(t);
  const repo = join(dir, "repo");
  const keys = join(dir, "keys");
  for (const name of ["root", "release", "release2"]) await ok("keygen", keys, "--name", name);
  assert.equal((await stat(join(keys, "root.key"))).mode & 0o777, 0o600);
  const k = (name: string) => join(keys, name);

  await ok("root", "init", "--repo", repo, "--root-key", k("root.key"), "--release-key", k("release.pub"));
  const root1 = JSON.parse(await readFile(join(repo, "root", "1.json"), "utf8")) as {
    signed: { roles: { root: { keyids: string[] }; release: { keyids: string[] } } };
  };
  assert.equal(root1.signed.roles.root.keyids.length, 1);
  assert.notDeepEqual(root1.signed.roles.root.keyids, root1.signed.roles.release.keyids);
  // A second init is refused; the root key cannot publish (wrong role).
  assert.equal(
    (
      await ferry(
        "root",
        "init",
        "--repo",
        repo,
        "--root-key",
        k("root.key"),
        "--release-key",
        k("release.pub"),
      )
    ).code,
    2,
  );
  for (const v of [1, 2, 3] as const) await writeGame(join(dir, `v${v}`), sampleGame(v));
  const wrongRole = await ferry(
    "publish",
    join(dir, "v1"),
    "--repo",
    repo,
    "--version",
    "1.0.0",
    "--key",
    k("root.key"),
  );
  assert.equal(wrongRole.code, 1);
  assert.match(wrongRole.stderr, /^ferry: E_KEY: Root version 1 requires 1 release key/);
  await ok("publish", join(dir, "v1"), "--repo", repo, "--version", "1.0.0", "--key", k("release.key"));

  const server = await serveRepository({ root: repo });
  t.after(() => server.close());
  const install = join(dir, "install");
  await ok("update", server.url, install, "--trust", k("root.pub"));
  assert.deepEqual(sortedEntries(await readTree(install)), sortedEntries(expectedTree(1)));

  // The release key leaks: the root key authorises release2 (root 2) and the channel is re-signed.
  const rotated = await ok(
    "root",
    "rotate",
    "--repo",
    repo,
    "--sign",
    k("root.key"),
    "--release-key",
    k("release2.pub"),
  );
  assert.match(rotated, /Wrote root\/2\.json/);
  await ok("resign", "--repo", repo, "--key", k("release2.key"));
  const resigned = JSON.parse(await readFile(join(repo, "channels", "stable.json"), "utf8")) as {
    signed: { root: number; serial: number };
  };
  assert.deepEqual([resigned.signed.root, resigned.signed.serial], [2, 2]);
  const leaked = await ferry(
    "publish",
    join(dir, "v2"),
    "--repo",
    repo,
    "--version",
    "2.0.0",
    "--key",
    k("release.key"),
  );
  assert.equal(leaked.code, 1);
  await ok("publish", join(dir, "v2"), "--repo", repo, "--version", "2.0.0", "--key", k("release2.key"));
  const result = JSON.parse(
    (await ok("update", server.url, install, "--trust", k("root.pub"), "--json")).trim().split("\n").at(-1)!,
  ) as {
    version: string;
  };
  assert.equal(result.version, "2.0.0");
  assert.deepEqual(sortedEntries(await readTree(install)), sortedEntries(expectedTree(2)));

  // A game can ship a root file instead of a key; a fresh install from root/2.json works.
  const fresh = join(dir, "fresh");
  await ok("update", server.url, fresh, "--trust", join(repo, "root", "2.json"));
  assert.deepEqual(sortedEntries(await readTree(fresh)), sortedEntries(expectedTree(2)));
  // Rotating without the root key's signature is refused and writes nothing.
  const unsigned = await ferry("root", "rotate", "--repo", repo, "--sign", k("release2.key"));
  assert.equal(unsigned.code, 1);
  assert.match(unsigned.stderr, /E_SIGNATURE/);
  await assert.rejects(stat(join(repo, "root", "3.json")));
});
