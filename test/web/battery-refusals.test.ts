/**
 * Browser battery: what the runtime refuses, each time with the stored release intact and still
 * served. A tampered pack (E_HASH_MISMATCH), an older signed pointer served again (E_ROLLBACK), an
 * expired pointer (E_EXPIRED).
 */
import assert from "node:assert/strict";
import { readdir, readFile, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { numbered } from "./fixtures/web-game.js";
import {
  assertServes,
  damage,
  type Demo,
  fileBrowser,
  installedVersion,
  newPage,
  ok,
  openDemo,
  rejects,
  startDemo,
  waitReady,
  webRepo,
} from "./harness.js";

const r1 = numbered(1, 200_000);
const r2 = numbered(2, 200_000);
const r3 = numbered(3, 200_000);
const DAY = 86_400_000;

/** After a refusal: the page and a reloaded page report `version` and serve exactly `files`. */
async function intact(
  page: Page,
  demo: Demo,
  version: string,
  files: ReadonlyMap<string, Uint8Array>,
  absent: string[],
) {
  assert.equal(await installedVersion(page), version);
  await openDemo(page, demo);
  assert.equal(await installedVersion(page), version);
  await assertServes(page, files, absent);
}

test("refused: tampered pack, rolled-back pointer, expired pointer; the stored release stays whole and served", async (t) => {
  const browser = await fileBrowser(t);
  if (!browser) return;
  const repo = await webRepo(t);
  const packs = join(repo.served.repo, "packs");
  const pointerPath = join(repo.served.repo, "channels", "stable.json");
  await repo.publish("1.0.0", r1);
  const pointer1 = await readFile(pointerPath);
  const demo = await startDemo(t, repo);
  const { page } = await newPage(t, browser);
  await openDemo(page, demo);
  await ok(page, "update");
  await page.reload();
  await waitReady(page);
  await assertServes(page, r1);

  // Tampered: every chunk of the packs 2.0.0 added has a flipped byte.
  const packsBefore = new Set(await readdir(packs));
  await repo.publish("2.0.0", r2);
  const added = (await readdir(packs)).filter((n) => n.endsWith(".pack") && !packsBefore.has(n));
  assert.ok(added.length > 0, "2.0.0 added packs");
  const originals = new Map<string, Buffer>();
  for (const name of added) {
    originals.set(name, await readFile(join(packs, name)));
    await damage(join(packs, name));
  }
  const tamper = await rejects(page, "update", "E_HASH_MISMATCH");
  t.diagnostic(`tampered pack: E_HASH_MISMATCH: ${tamper}`);
  await intact(page, demo, "1.0.0", r1, ["added-2.txt"]);

  // The repository repaired: the same update now succeeds (nothing bad was kept).
  for (const [name, bytes] of originals) await writeFile(join(packs, name), bytes);
  await ok(page, "update");
  await intact(page, demo, "2.0.0", r2, ["added-1.txt"]);

  // Rollback: the host serves 1.0.0's signed pointer again.
  const pointer2 = await readFile(pointerPath);
  await writeFile(pointerPath, pointer1);
  const replayed = await stat(pointerPath);
  const rollback = await rejects(page, "update", "E_ROLLBACK");
  await rejects(page, "check", "E_ROLLBACK");
  t.diagnostic(`older pointer: E_ROLLBACK: ${rollback}`);
  await intact(page, demo, "2.0.0", r2, ["added-1.txt"]);
  await writeFile(pointerPath, pointer2);

  // Expiry: 3.0.0's pointer expired yesterday.
  await repo.publish("3.0.0", r3, {
    created: new Date(Date.now() - 2 * DAY),
    expiresInDays: 1,
    allowShortExpiry: true,
  });
  // The browser last fetched the replayed pointer. Give 3.0.0's pointer the same mtime: nginx's validators
  // (ETag = mtime seconds + size, Last-Modified) then match the replayed one's, so a runtime that
  // revalidates pointers through the HTTP cache gets a 304 and the stale pointer back (E_ROLLBACK).
  const pointer3 = await readFile(pointerPath);
  assert.equal(pointer3.length, pointer1.length, "the two pointers have one size (one nginx ETag)");
  await utimes(pointerPath, replayed.atime, replayed.mtime);
  const expired = await rejects(page, "update", "E_EXPIRED");
  t.diagnostic(`expired pointer: E_EXPIRED: ${expired}`);
  await intact(page, demo, "2.0.0", r2, ["added-1.txt", "added-3.txt"]);
});
