/**
 * Browser battery: two tabs of one game. Both call update() at once; one writer runs (Web Locks), the
 * end state is one release that both tabs report and serve, and the release was downloaded once.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { update } from "../../src/client/ops/update.js";
import { numbered } from "./fixtures/web-game.js";
import {
  assertServes,
  call,
  fileBrowser,
  installedVersion,
  newPage,
  openDemo,
  type Outcome,
  webRepo,
  startDemo,
  waitReady,
} from "./harness.js";

/** Codes a tab that lost the race may answer with instead of waiting its turn. */
const LOST_RACE = new Set(["E_LOCKED", "E_BUSY"]);

async function bothUpdate(pages: readonly Page[]): Promise<Outcome[]> {
  const outcomes = await Promise.all(pages.map((page) => call(page, "update")));
  const fulfilled = outcomes.filter((o) => o.ok).length;
  assert.ok(fulfilled >= 1, `at least one tab's update succeeds: ${JSON.stringify(outcomes)}`);
  for (const o of outcomes)
    if (!o.ok)
      assert.ok(LOST_RACE.has(String(o.code)), `a tab's update failed otherwise: ${o.code}: ${o.message}`);
  return outcomes;
}

test("two tabs: both update at once; one writer, one release, downloaded once", async (t) => {
  const browser = await fileBrowser(t);
  if (!browser) return;
  const repo = await webRepo(t);
  const r1 = numbered(1, 600_000);
  const r2 = numbered(2, 600_000);
  await repo.publish("1.0.0", r1);
  const demo = await startDemo(t, repo);
  const tabs = [(await newPage(t, browser)).page, (await newPage(t, browser)).page];
  for (const page of tabs) await openDemo(page, demo);

  // Reference: what one Node install and update of the same releases download.
  const nodeDir = join(repo.served.dir, "node-install");
  let before = repo.proxy.bytesSent();
  await update({ repoUrl: repo.url, installDir: nodeDir, trust: [repo.served.pub] });
  const nodeInstall = repo.proxy.bytesSent() - before;

  const counts: string[] = [];
  for (const [version, files, other] of [
    ["1.0.0", r1, r2],
    ["2.0.0", r2, r1],
  ] as const) {
    if (version === "2.0.0") await repo.publish("2.0.0", r2);
    before = repo.proxy.bytesSent();
    const outcomes = await bothUpdate(tabs);
    const bytes = repo.proxy.bytesSent() - before;
    counts.push(`${version}: ${outcomes.map((o) => (o.ok ? "ok" : o.code)).join("/")} ${bytes} B`);
    // Two writers would have downloaded the big file twice.
    assert.ok(
      bytes < nodeInstall * 1.5,
      `${version}: the tabs downloaded ${bytes} B, one install is ${nodeInstall} B`,
    );
    for (const page of tabs) {
      assert.equal(await installedVersion(page), version);
      await page.reload();
      await waitReady(page);
      assert.equal(await installedVersion(page), version);
      const absent = [...other.keys()].filter((p) => !files.has(p));
      await assertServes(page, files, absent);
    }
  }
  t.diagnostic(`two tabs: ${counts.join("; ")}; one Node install ${nodeInstall} B`);
});
