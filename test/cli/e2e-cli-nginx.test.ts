import assert from "node:assert/strict";
import { rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { sampleGame, writeGame } from "../../src/testing/game-fixture.js";
import { findNginx, startNginx } from "../../src/testing/nginx.js";
import { ferry } from "../helpers/cli.js";
import { expectedTree, readTree, sortedEntries, tempDir } from "../helpers/helpers.js";

function lastJson(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as Record<string, unknown>;
}

test("CLI end to end against a real nginx: keygen, publish, update, check, status, verify, exit codes", async (t) => {
  const nginx = findNginx();
  if (!nginx) {
    assert.ok(!process.env.CI, "nginx is required in CI (.ci/run installs it)");
    t.skip("nginx is not installed");
    return;
  }
  const dir = await tempDir(t);
  const repo = join(dir, "repo");
  for (const v of [1, 2] as const) await writeGame(join(dir, `v${v}`), sampleGame(v));
  assert.equal((await ferry("keygen", join(dir, "keys"))).code, 0);
  const key = join(dir, "keys", "ferry.key");
  const pub = join(dir, "keys", "ferry.pub");
  assert.equal((await stat(key)).mode & 0o777, 0o600, "the private key is readable by its owner only");
  assert.equal(
    (await ferry("keygen", join(dir, "keys"))).code,
    2,
    "keygen never overwrites a key (usage error)",
  );
  assert.equal(
    (await ferry("publish", join(dir, "v1"), "--repo", repo, "--version", "1.0.0", "--key", key)).code,
    0,
  );
  const server = await startNginx(repo);
  t.after(() => server.close());
  const install = join(dir, "install");

  const fresh = await ferry("update", server.url, install, "--trust", pub, "--json");
  assert.equal(fresh.code, 0, fresh.stderr);
  assert.equal(lastJson(fresh.stdout).version, "1.0.0");
  assert.deepEqual(sortedEntries(await readTree(install)), sortedEntries(expectedTree(1)));

  assert.equal(
    (await ferry("publish", join(dir, "v2"), "--repo", repo, "--version", "2.0.0", "--key", key)).code,
    0,
  );
  const checked = lastJson((await ferry("check", server.url, install, "--trust", pub, "--json")).stdout);
  assert.equal(checked.updateAvailable, true);
  const updated = await ferry("update", server.url, install, "--trust", pub, "--json");
  assert.equal(updated.code, 0, updated.stderr);
  const summary = lastJson(updated.stdout);
  for (const field of [
    "version",
    "bytesDownloaded",
    "requests",
    "filesWritten",
    "filesDeleted",
    "rangeMode",
  ]) {
    assert.ok(field in summary, `summary has ${field}`);
  }
  assert.equal(summary.version, "2.0.0");
  assert.equal(summary.filesDeleted, 1);
  assert.ok((summary.bytesDownloaded as number) < (lastJson(fresh.stdout).bytesDownloaded as number) / 4);
  assert.deepEqual(sortedEntries(await readTree(install)), sortedEntries(expectedTree(2)));

  const status = lastJson((await ferry("status", install, "--json")).stdout);
  assert.equal(status.version, "2.0.0");
  assert.equal((await ferry("verify", install)).code, 0);

  // Damage is reported with exit 1; a wrong key is a one-line E_SIGNATURE with exit 1; bad usage exits 2.
  await rm(join(install, "README.txt"));
  const damaged = await ferry("verify", install);
  assert.equal(damaged.code, 1);
  assert.match(damaged.stdout, /missing\s+README\.txt/);
  await ferry("keygen", join(dir, "other"));
  // A fresh install with the wrong key: root/1.json is not signed by it. An existing install: the key
  // is neither the one it was installed with nor a root key of its stored root.
  const otherKey = join(dir, "other", "ferry.pub");
  const wrongKey = await ferry("update", server.url, join(dir, "fresh"), "--trust", otherKey);
  assert.equal(wrongKey.code, 1);
  assert.match(wrongKey.stderr, /^ferry: E_SIGNATURE: root metadata .*root\/1\.json/);
  assert.equal(wrongKey.stderr.trim().split("\n").length, 1);
  const wrongKeyInstalled = await ferry("update", server.url, install, "--trust", otherKey);
  assert.equal(wrongKeyInstalled.code, 1);
  assert.match(wrongKeyInstalled.stderr, /^ferry: E_KEY: --trust names key/);
  assert.equal((await ferry("update", server.url)).code, 2);
  assert.equal((await ferry("frobnicate")).code, 2);
  // Repair: the missing file comes back, downloading only its chunk.
  const repaired = lastJson((await ferry("update", server.url, install, "--trust", pub, "--json")).stdout);
  assert.equal(repaired.filesWritten, 1);
  assert.deepEqual(sortedEntries(await readTree(install)), sortedEntries(expectedTree(2)));
});
