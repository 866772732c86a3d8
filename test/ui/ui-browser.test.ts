import "../../src/register-node.js";
import assert from "node:assert/strict";
import { access, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { chromium } from "playwright-core";
import { createUpdater } from "../../src/client/ops/lifecycle.js";
import { NodeFileSystem } from "../../src/node/node-fs.js";
import { pseudoRandom, sampleGame } from "../../src/testing/game-fixture.js";
import { startThrottledProxy } from "../../src/testing/throttled-proxy.js";
import { serveUpdateScreen } from "../../src/ui/ui-server.js";
import { readTree, sortedEntries } from "../helpers/helpers.js";
import { type BuildFile, repoFixture } from "../helpers/served-repo.js";

/** Debian's chromium (installed by .ci/run), or FERRY_CHROMIUM. */
async function findChromium(): Promise<string | undefined> {
  const candidates = [process.env.FERRY_CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"];
  for (const path of candidates) {
    if (!path) continue;
    try {
      await access(path);
      return path;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

/** What the test reads in the page. */
interface PageGlobals {
  readonly document: {
    getElementById(id: string): {
      readonly value: number;
      readonly max: number;
      readonly textContent: string;
    };
  };
}

/** Size of the file v2 adds, so the throttled download lasts long enough to watch and cancel. */
const BIG_FILE_BYTES = Number(process.env.FERRY_UI_TEST_BYTES ?? 3_000_000);

test("update screen in headless Chromium: check, progress with speed and ETA, cancel, install unchanged", async (t) => {
  const executablePath = await findChromium();
  if (!executablePath) {
    const message =
      "CHROMIUM IS NOT INSTALLED: the update-screen browser test did not run. Install Debian's 'chromium' (.ci/run does) or set FERRY_CHROMIUM.";
    // CI installs chromium: there a missing browser is a failure, not a skip.
    if (process.env.CI) assert.fail(message);
    process.stderr.write(`\n!!!!!! ${message}\n\n`);
    t.skip(message);
    return;
  }
  const served = await repoFixture(t);
  const { dir, url, pub } = served;
  const common = { build: "build", expiresInDays: 36500, rootExpiresInDays: 36500, deltaHistory: 0 };
  const v1 = sampleGame(1);
  await served.publish(v1, { ...common, version: "1.0.0", created: new Date(Date.UTC(2026, 0, 1)) });
  const install = join(dir, "install");
  await served.update(install);
  // v2: the same build plus one big file.
  await served.publish(
    new Map<string, BuildFile>([...v1, ["big.bin", pseudoRandom("big", BIG_FILE_BYTES)]]),
    {
      ...common,
      version: "2.0.0",
      notes: "Adds the big level.",
      created: new Date(Date.UTC(2026, 0, 2)),
    },
  );
  // An update log as the rollback code writes it: the screen must list it.
  await mkdir(join(install, ".ferry"), { recursive: true });
  await writeFile(
    join(install, ".ferry", "update-log.jsonl"),
    `${JSON.stringify({ time: "2026-01-01T12:00:00Z", type: "rollback", release: "0.9.0", code: "E_CRASH_LOOP", message: "launched twice without markHealthy" })}\n`,
  );
  const treeBefore = sortedEntries(await readTree(install));
  const stateBefore = await readFile(join(install, ".ferry", "state.json"));

  const slow = await startThrottledProxy(url, { bytesPerTick: 32 * 1024, tickMs: 50 });
  t.after(() => slow.close());
  const updater = createUpdater({ repoUrl: slow.url, installDir: install, trust: [pub] });
  const screen = await serveUpdateScreen({ updater, installDir: install, fs: new NodeFileSystem() });
  t.after(() => screen.close());

  const browser = await chromium.launch({ executablePath });
  t.after(() => browser.close());
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
  await page.goto(screen.url);
  await page.locator("#log tbody tr").filter({ hasText: "E_CRASH_LOOP" }).waitFor();

  await page.click("#check");
  await page.locator("#state", { hasText: "available" }).waitFor();
  assert.match((await page.textContent("#available")) ?? "", /2\.0\.0 \(\d+(\.\d)? (KiB|MiB) to download\)/);
  assert.equal(await page.textContent("#notes"), "Adds the big level.");
  assert.equal(await page.textContent("#installed"), "1.0.0");

  await page.click("#update");
  await page.locator("#state", { hasText: "downloading" }).waitFor();
  // (The page's CSP forbids eval, so page-side code is passed as functions, typed without DOM types.)
  await page.waitForFunction(() => {
    const { document } = globalThis as unknown as PageGlobals;
    return document.getElementById("bar").value > 0 && document.getElementById("eta").textContent !== "";
  });
  const [value, max] = await page.evaluate(() => {
    const bar = (globalThis as unknown as PageGlobals).document.getElementById("bar");
    return [bar.value, bar.max];
  });
  assert.ok(value > 0 && value < max, `progress ${value} of ${max} before cancel`);
  assert.match((await page.textContent("#speed")) ?? "", /\/s$/);
  assert.match((await page.textContent("#eta")) ?? "", /^ETA \d+ s$/);

  await page.click("#cancel");
  await page.locator("#state", { hasText: "cancelled" }).waitFor();
  assert.match((await page.textContent("#message")) ?? "", /E_ABORTED/);
  assert.equal(updater.state, "cancelled");
  assert.ok(slow.bytesSent() < BIG_FILE_BYTES, `${slow.bytesSent()} bytes sent: cancelled mid-download`);
  assert.deepEqual(pageErrors, []);

  // The install is exactly as it was: every file (hashed) and the install state.
  assert.deepEqual(sortedEntries(await readTree(install)), treeBefore);
  assert.deepEqual(await readFile(join(install, ".ferry", "state.json")), stateBefore);
});
