import "../../src/register-node.js";
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { serveRepository } from "../../src/server/static-server.js";
import { sampleGame, writeGame } from "../../src/testing/game-fixture.js";
import { ferry } from "../helpers/cli.js";
import { expectedTree, readTree, sortedEntries, tempDir } from "../helpers/helpers.js";

/** The CLI surface of docs/ROLLBACK.md: publish policy flags, rollout set/halt, status, log, rollback. */
test("CLI: publish --rollout/--mandatory/--min-version, rollout set and halt, status, log, rollback", async (t) => {
  const dir = await tempDir(t);
  const repo = join(dir, "repo");
  const install = join(dir, "install");
  assert.equal((await ferry("keygen", join(dir, "keys"))).code, 0);
  const key = join(dir, "keys", "ferry.key");
  const pub = join(dir, "keys", "ferry.pub");
  for (const v of [1, 2] as const) await writeGame(join(dir, `b${v}`), sampleGame(v));
  assert.equal(
    (await ferry("publish", join(dir, "b1"), "--repo", repo, "--version", "1.0.0", "--key", key)).code,
    0,
  );
  const server = await serveRepository({ root: repo });
  t.after(() => server.close());
  assert.equal((await ferry("update", server.url, install, "--trust", pub)).code, 0);

  const published = await ferry(
    "publish",
    join(dir, "b2"),
    "--repo",
    repo,
    "--version",
    "2.0.0",
    "--key",
    key,
    "--rollout",
    "100",
    "--mandatory",
    "--min-version",
    "2.0.0",
    "--json",
  );
  assert.equal(published.code, 0, published.stderr);
  const checked = await ferry("check", server.url, install, "--trust", pub, "--json");
  const result = JSON.parse(checked.stdout.trim().split("\n").at(-1)!) as Record<string, unknown>;
  assert.deepEqual([result.mandatory, result.minVersion, result.mustUpdate], [true, "2.0.0", true]);
  assert.match(
    (await ferry("check", server.url, install, "--trust", pub)).stdout,
    /Mandatory\. Versions below 2\.0\.0 must update/,
  );

  assert.equal((await ferry("update", server.url, install, "--trust", pub)).code, 0);
  const status = await ferry("status", install);
  assert.match(status.stdout, /rollback to: 1\.0\.0/);
  assert.match(status.stdout, /health: not yet marked healthy \(0 launches\)/);

  // rollout set needs a rollout; halt goes back to 1.0.0 with the next serial.
  const set = await ferry("rollout", "set", "20", "--repo", repo, "--key", key);
  assert.equal(set.code, 2, "not in a rollout: a usage error");
  const halt = await ferry("rollout", "halt", "--repo", repo, "--key", key);
  assert.equal(halt.code, 0, halt.stderr);
  assert.match(halt.stdout, /Halted 2\.0\.0 on channel 'stable': it points at 1\.0\.0 again \(serial 3\)/);
  const back = await ferry("update", server.url, install, "--trust", pub, "--json");
  assert.equal(back.code, 0, back.stderr);
  assert.deepEqual(sortedEntries(await readTree(install)), sortedEntries(expectedTree(1)));

  const log = await ferry("log", install, "--json");
  const kinds = log.stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as { kind: string; code: string });
  assert.deepEqual(
    kinds.map((e) => `${e.kind}:${e.code}`),
    ["updated:OK", "updated:OK", "rolled-back:ROLLBACK_HALTED"],
  );
  const rollback = await ferry("rollback", install);
  assert.equal(rollback.code, 1);
  assert.match(rollback.stderr, /E_NO_PREVIOUS/);
  assert.match((await ferry("status", install)).stdout, /last error: .*rolled-back ROLLBACK_HALTED/);
});
