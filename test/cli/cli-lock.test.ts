/** `ferry update --wait-lock`: a second updater waits (bounded) for the first instead of failing. */
import assert from "node:assert/strict";
import { hostname } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { rm, writeFile } from "node:fs/promises";
import { ferry } from "../helpers/cli.js";
import { expectedTree, readTree, sortedEntries, v1InstallWithV2Published } from "../helpers/helpers.js";

test("--wait-lock waits for a live updater's lock; without it the CLI fails at once with E_LOCKED", async (t) => {
  const { template: install, server, publicText } = await v1InstallWithV2Published(t);
  const lock = join(install, ".ferry", "lock");
  // A live process (this test) holds the lock.
  await writeFile(
    lock,
    JSON.stringify({ pid: process.pid, host: hostname(), started: new Date().toISOString() }),
  );
  const trust = publicText.trim();
  const refused = await ferry("update", server.url, install, "--trust", trust);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^ferry: E_LOCKED: /);

  const waiting = ferry("update", server.url, install, "--trust", trust, "--wait-lock", "20");
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await rm(lock);
  const result = await waiting;
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(sortedEntries(await readTree(install)), sortedEntries(expectedTree(2)));
  assert.equal((await ferry("update", server.url, install, "--wait-lock", "x", "--trust", trust)).code, 2);
});
