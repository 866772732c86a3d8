/**
 * Browser battery: storage quota. The demo's origin gets a small quota (CDP
 * Storage.overrideQuotaForOrigin); an update larger than it fails with E_NO_SPACE and a message about
 * storage, nothing of it is committed (the old release is reported and served), and once the quota
 * allows it the same update completes.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { numbered } from "./fixtures/web-game.js";
import {
  assertServes,
  fileBrowser,
  installedVersion,
  newPage,
  ok,
  openDemo,
  rejects,
  startDemo,
  webRepo,
} from "./harness.js";

const MB = 1024 * 1024;

async function usage(page: Page): Promise<{ usage: number; quota: number }> {
  return page.evaluate(async () => {
    const nav = (
      globalThis as unknown as {
        navigator: { storage: { estimate(): Promise<{ usage?: number; quota?: number }> } };
      }
    ).navigator;
    const e = await nav.storage.estimate();
    return { usage: e.usage ?? -1, quota: e.quota ?? -1 };
  });
}

test("quota: an update larger than the origin's quota fails with E_NO_SPACE, nothing half-committed; it completes once there is room", async (t) => {
  const browser = await fileBrowser(t);
  if (!browser) return;
  const repo = await webRepo(t);
  const r1 = numbered(1, 200_000);
  const r2 = numbered(2, 8 * MB);
  await repo.publish("1.0.0", r1);
  const demo = await startDemo(t, repo);
  const { page } = await newPage(t, browser);
  const cdp = await browser.context.newCDPSession(page);
  const origin = new URL(demo.url).origin;
  const quota = async (bytes: number) => {
    await cdp.send("Storage.overrideQuotaForOrigin", { origin, quotaSize: bytes });
  };
  await quota(3 * MB);
  await openDemo(page, demo);
  await ok(page, "update");
  await openDemo(page, demo);
  await assertServes(page, r1);

  await repo.publish("2.0.0", r2);
  const message = await rejects(page, "update", "E_NO_SPACE");
  const after = await usage(page);
  t.diagnostic(
    `quota override ${3 * MB} B (estimate() reports ${after.quota} B), usage after the refusal ${after.usage} B: E_NO_SPACE: ${message}`,
  );
  assert.match(message, /quota|storage|space/i, "the message says what ran out");
  assert.ok(after.usage <= 3 * MB, `usage ${after.usage} B stays within the quota`);
  assert.equal(await installedVersion(page), "1.0.0");
  await openDemo(page, demo);
  assert.equal(await installedVersion(page), "1.0.0");
  await assertServes(page, r1, ["added-2.txt"]);
  // A second attempt meets the same limit the same way (no leftovers that change the outcome).
  await rejects(page, "update", "E_NO_SPACE");
  await assertServes(page, r1, ["added-2.txt"]);

  await quota(64 * MB);
  await ok(page, "update");
  await openDemo(page, demo);
  assert.equal(await installedVersion(page), "2.0.0");
  await assertServes(page, r2, ["added-1.txt"]);
});
