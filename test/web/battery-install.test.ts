/**
 * Browser battery: first install, an update with deltas (bytes counted at the repository's origin,
 * compared with the changed files and with the Node client on the same repository), a running page
 * never mixing releases, and offline play once the repository is gone.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { update } from "../../src/client/ops/update.js";
import { sample } from "./fixtures/web-game.js";
import {
  assertServes,
  fileBrowser,
  installedVersion,
  newPage,
  ok,
  openDemo,
  servedRelease,
  startDemo,
  waitReady,
  webRepo,
} from "./harness.js";

const v1 = sample(1);
const v2 = sample(2);
const onlyIn = (a: ReadonlyMap<string, Uint8Array>, b: ReadonlyMap<string, Uint8Array>) =>
  [...a.keys()].filter((path) => !b.has(path));

/** Bytes of the files of `to` that `from` lacks or holds differently: what a file-by-file updater downloads. */
function changedBytes(from: ReadonlyMap<string, Uint8Array>, to: ReadonlyMap<string, Uint8Array>): number {
  let total = 0;
  for (const [path, data] of to) {
    const old = from.get(path);
    if (!old || Buffer.compare(Buffer.from(old), Buffer.from(data)) !== 0) total += data.length;
  }
  return total;
}

test("install, update with deltas, the running page keeps one release, offline play", async (t) => {
  const browser = await fileBrowser(t);
  if (!browser) return;
  const repo = await webRepo(t);
  await repo.publish("1.0.0", v1, { deltaHistory: 3 });
  const demo = await startDemo(t, repo);
  const { page, errors } = await newPage(t, browser);
  await openDemo(page, demo);

  assert.equal(await installedVersion(page), null, "status() is null before the first install");
  let before = repo.proxy.bytesSent();
  await ok(page, "update");
  const installBytes = repo.proxy.bytesSent() - before;
  assert.equal(await installedVersion(page), "1.0.0");
  await page.reload();
  await waitReady(page);
  await assertServes(page, v1, onlyIn(v2, v1));

  // The Node client installs the same release from the same origin: the reference for bytes.
  const nodeInstall = join(repo.served.dir, "node-install");
  before = repo.proxy.bytesSent();
  await update({ repoUrl: repo.url, installDir: nodeInstall, trust: [repo.served.pub] });
  const nodeInstallBytes = repo.proxy.bytesSent() - before;

  await repo.publish("2.0.0", v2, { deltaHistory: 3 });
  before = repo.proxy.bytesSent();
  await ok(page, "update");
  const updateBytes = repo.proxy.bytesSent() - before;
  assert.equal(await installedVersion(page), "2.0.0");
  // The page that ran the update may still read its own release until it reloads, never a mix.
  const beforeReload = await servedRelease(page, { v1, v2 });
  await page.reload();
  await waitReady(page);
  await assertServes(page, v2, onlyIn(v1, v2));

  before = repo.proxy.bytesSent();
  await update({ repoUrl: repo.url, installDir: nodeInstall, trust: [repo.served.pub] });
  const nodeUpdateBytes = repo.proxy.bytesSent() - before;

  const changed = changedBytes(v1, v2);
  t.diagnostic(
    `install: browser ${installBytes} B, node ${nodeInstallBytes} B; update 1.0.0 -> 2.0.0: browser ${updateBytes} B, node ${nodeUpdateBytes} B, changed files ${changed} B; the updating page served ${beforeReload} until reloaded`,
  );
  assert.ok(
    updateBytes < changed / 2,
    `the update downloads ${updateBytes} B, not the changed files (${changed} B)`,
  );
  // Same plan as the Node client: deltas and chunk reuse; allow the framing of single ranges.
  assert.ok(
    updateBytes <= nodeUpdateBytes * 1.25 + 16 * 1024,
    `the browser's update (${updateBytes} B) costs about what the Node client's does (${nodeUpdateBytes} B)`,
  );

  // Offline: the repository's origin is gone; the installed release is still served, whole.
  await repo.close();
  await page.reload();
  await waitReady(page);
  assert.equal(await installedVersion(page), "2.0.0");
  await assertServes(page, v2, onlyIn(v1, v2));
  const second = await newPage(t, browser);
  await openDemo(second.page, demo);
  await assertServes(second.page, v2);
  assert.deepEqual(errors, [], "no uncaught errors in the page");
});
