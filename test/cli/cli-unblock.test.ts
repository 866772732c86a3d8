import "../../src/register-node.js";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { unblock } from "../../src/client/ops/unblock.js";
import { readUpdateLog } from "../../src/client/install/update-log.js";
import { readHealth } from "../../src/client/install/health.js";
import { makeContext } from "../../src/client/context.js";
import { ferry } from "../helpers/cli.js";
import { expectCodeAsync } from "../helpers/helpers.js";
import { readTree } from "../helpers/helpers.js";
import { repoFixture } from "../helpers/served-repo.js";

const v1 = { "game.bin": "engine 1\n", "data/level.txt": "level one\n", "data/old.txt": "old\n" };
const v2 = { "game.bin": "engine 2\n", "data/level.txt": "level two\n", "data/new.txt": "new\n" };
/** A build as readTree lists a tree: path -> "sha256 -" (no file is executable). */
const tree = (files: Record<string, string>) =>
  new Map(
    Object.entries(files).map(([p, text]) => [p, `${createHash("sha256").update(text).digest("hex")} -`]),
  );

test("after ferry rollback the blocked release is refused (update --force too) until 'ferry unblock <dir> <version>' allows it again", async (t) => {
  const served = await repoFixture(t);
  const { dir } = served;
  const pub = join(dir, "root.pub");
  await writeFile(pub, served.publicText);
  const install = join(dir, "game");
  await served.publish(v1, { version: "1.0.0" });
  assert.equal((await ferry("update", served.url, install, "--trust", pub)).code, 0);
  await served.publish(v2, { version: "2.0.0" });
  assert.equal((await ferry("update", served.url, install, "--trust", pub)).code, 0);
  const rolled = await ferry("rollback", install);
  assert.equal(rolled.code, 0, rolled.stderr);
  assert.match(rolled.stdout, /'ferry unblock .* 2\.0\.0' allows it again/);
  assert.deepEqual(await readTree(install), tree(v1));

  // Blocked: a plain update and a forced one (--force re-verifies and rewrites files, it lifts no block).
  for (const extra of [[], ["--force"]]) {
    const refused = await ferry("update", served.url, install, "--trust", pub, ...extra);
    assert.equal(refused.code, 1, `update ${extra.join(" ")}`);
    assert.match(refused.stderr, /E_BLOCKED: Release 2\.0\.0 is blocked/);
  }
  assert.deepEqual(await readTree(install), tree(v1));

  // Usage: a version that is not blocked names the blocked ones; neither version nor --all; both.
  const wrong = await ferry("unblock", install, "1.0.0");
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /Release 1\.0\.0 is not blocked on .*; blocked: 2\.0\.0/);
  assert.equal((await ferry("unblock", install)).code, 2);
  assert.equal((await ferry("unblock", install, "2.0.0", "--all")).code, 2);
  const status = await ferry("status", install);
  assert.match(status.stdout, /blocked: 2\.0\.0 since/);

  const lifted = await ferry("unblock", install, "2.0.0", "--json");
  assert.equal(lifted.code, 0, lifted.stderr);
  const result = JSON.parse(lifted.stdout.trim()) as { unblocked: { version: string }[]; blocked: unknown[] };
  assert.deepEqual(
    result.unblocked.map((b) => b.version),
    ["2.0.0"],
  );
  assert.deepEqual(result.blocked, []);
  assert.doesNotMatch((await ferry("status", install)).stdout, /blocked:/);
  const log = await readUpdateLog({ installDir: install });
  assert.equal(log.at(-1)!.kind, "unblocked");
  assert.equal(log.at(-1)!.version, "2.0.0");

  // The next update installs 2.0.0 again, exactly.
  const again = await ferry("update", served.url, install, "--trust", pub);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(await readTree(install), tree(v2));

  // A second rollback blocks it again; unblock({ all }) lifts every block; the library refuses no argument.
  assert.equal((await ferry("rollback", install)).code, 0);
  assert.equal((await readHealth(makeContext(install, {}))).blocked.length, 1);
  await expectCodeAsync(() => unblock({ installDir: install }), "E_USAGE");
  const all = await unblock({ installDir: install, all: true });
  assert.deepEqual(
    all.unblocked.map((b) => b.version),
    ["2.0.0"],
  );
  assert.equal((await readHealth(makeContext(install, {}))).blocked.length, 0);
  await expectCodeAsync(
    () => unblock({ installDir: join(dir, "nothing-here"), all: true }),
    "E_NOT_INSTALLED",
  );
});
