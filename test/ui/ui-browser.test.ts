import "../../src/register-node.js";
import assert from "node:assert/strict";
import { access, mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type TestContext, test } from "node:test";
import { type Browser, chromium, type Page } from "playwright-core";
import { createUpdater } from "../../src/client/ops/lifecycle.js";
import { NodeFileSystem } from "../../src/node/node-fs.js";
import { pseudoRandom, sampleGame } from "../../src/testing/game-fixture.js";
import { startThrottledProxy } from "../../src/testing/throttled-proxy.js";
import { serveUpdateScreen } from "../../src/ui/ui-server.js";
import { keys, readTree, sortedEntries } from "../helpers/helpers.js";
import { type BuildFile, repoFixture, type ServedRepo } from "../helpers/served-repo.js";

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

/** Launches Chromium, or skips (fails under CI) when there is none. */
async function launch(t: TestContext): Promise<Browser | undefined> {
  const executablePath = await findChromium();
  if (!executablePath) {
    const message =
      "CHROMIUM IS NOT INSTALLED: the update-screen browser test did not run. Install Debian's 'chromium' (.ci/run does) or set FERRY_CHROMIUM.";
    // CI installs chromium: there a missing browser is a failure, not a skip.
    if (process.env.CI) assert.fail(message);
    process.stderr.write(`\n!!!!!! ${message}\n\n`);
    t.skip(message);
    return undefined;
  }
  const browser = await chromium.launch({ executablePath });
  t.after(() => browser.close());
  return browser;
}

/** What the test reads in the page (the page's CSP forbids eval: page-side code is passed as functions). */
interface PageElement {
  readonly value: number;
  readonly max: number;
  readonly textContent: string;
  readonly tagName: string;
  readonly hidden: boolean;
  getAttribute(name: string): string | null;
  getBoundingClientRect(): { readonly left: number; readonly right: number; readonly width: number };
}
interface PageGlobals {
  readonly innerWidth: number;
  readonly document: {
    readonly documentElement: { readonly scrollWidth: number };
    querySelector(selector: string): PageElement;
    querySelectorAll(selector: string): ArrayLike<PageElement>;
  };
}

/**
 * Screenshots go to test/ui/screenshots/ with FERRY_UI_SCREENSHOTS=1 (the committed set), else to a
 * temporary directory, so an ordinary test run leaves the work tree unchanged.
 */
const SHOTS = process.env.FERRY_UI_SCREENSHOTS === "1";
let shotDir: string | undefined;
async function screenshotDir(): Promise<string> {
  if (shotDir) return shotDir;
  shotDir = SHOTS ? resolve("test/ui/screenshots") : await mkdtemp(join(tmpdir(), "ferry-ui-shots-"));
  await mkdir(shotDir, { recursive: true });
  return shotDir;
}

const part = (name: string) => `[data-ferry="${name}"]`;
async function text(page: Page, name: string): Promise<string> {
  return ((await page.textContent(part(name))) ?? "").replace(/\s+/g, " ").trim();
}

/** Elements whose box reaches past the viewport, and the document's scroll width. */
async function overflow(page: Page): Promise<{ scrollWidth: number; width: number; wide: string[] }> {
  return page.evaluate(() => {
    const g = globalThis as unknown as PageGlobals;
    const wide: string[] = [];
    const all = g.document.querySelectorAll("body *");
    for (let i = 0; i < all.length; i++) {
      const e = all[i]!;
      const box = e.getBoundingClientRect();
      if (box.width > 0 && (box.right > g.innerWidth + 0.5 || box.left < -0.5))
        wide.push(
          `${e.tagName.toLowerCase()}[${e.getAttribute("data-ferry") ?? ""}] ${box.left}..${box.right}`,
        );
    }
    return { scrollWidth: g.document.documentElement.scrollWidth, width: g.innerWidth, wide };
  });
}

/**
 * At 800 and at 360 px: no element wider than the viewport, and a full-page screenshot `<name>-<w>.png`.
 * Returns to 800 px.
 */
async function shoot(page: Page, name: string): Promise<void> {
  const dir = await screenshotDir();
  for (const width of [800, 360]) {
    await page.setViewportSize({ width, height: 720 });
    const o = await overflow(page);
    assert.deepEqual(o.wide, [], `${name} at ${width} px: elements wider than the viewport`);
    assert.ok(
      o.scrollWidth <= o.width,
      `${name} at ${width} px: page scrolls sideways (${o.scrollWidth} px)`,
    );
    await page.screenshot({ path: join(dir, `${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 800, height: 720 });
}

/** The Event column (2nd) of every log row, and the Version column (3rd). */
async function logColumns(page: Page): Promise<{ events: string[]; versions: string[] }> {
  const rows = page.locator(`${part("log-body")} tr`);
  const events = (await rows.locator("td:nth-child(2)").allTextContents()).map((s) => s.trim());
  const versions = (await rows.locator("td:nth-child(3)").allTextContents()).map((s) => s.trim());
  return { events, versions };
}

const HEX64 = /[0-9a-f]{64}/;
const common = { expiresInDays: 36500, rootExpiresInDays: 36500, deltaHistory: 0 };

/** v1 published and installed at <dir>/install; returns the fixture and the install directory. */
async function installedV1(t: TestContext): Promise<{ served: ServedRepo; install: string }> {
  const served = await repoFixture(t);
  await served.publish(sampleGame(1), {
    ...common,
    build: "build",
    version: "1.0.0",
    created: new Date(Date.UTC(2026, 0, 1)),
  });
  const install = join(served.dir, "install");
  await served.update(install);
  return { served, install };
}

/** Size of the file v2 adds, so the throttled download lasts long enough to watch, pause and cancel. */
const BIG_FILE_BYTES = Number(process.env.FERRY_UI_TEST_BYTES ?? 3_000_000);

test("update screen in headless Chromium: before check, available, downloading, paused, cancelled; install unchanged", async (t) => {
  const browser = await launch(t);
  if (!browser) return;
  const { served, install } = await installedV1(t);
  const v1 = sampleGame(1);
  // v2: the same build plus one big file.
  await served.publish(
    new Map<string, BuildFile>([...v1, ["big.bin", pseudoRandom("big", BIG_FILE_BYTES)]]),
    {
      ...common,
      build: "build",
      version: "2.0.0",
      notes: "Adds the big level.",
      created: new Date(Date.UTC(2026, 0, 2)),
    },
  );
  // A refusal as the policy code writes it (kind, version, release hash), with a long message.
  const logPath = join(install, ".ferry", "update-log.jsonl");
  const refusal = {
    time: "2026-01-01T12:00:00.000Z",
    kind: "blocked",
    code: "E_BLOCKED",
    message:
      "Release 0.9.0 is blocked on this install: it was rolled back after it was launched twice without markHealthy(); publish a newer release or unblock it with --force.",
    version: "0.9.0",
    release: "a".repeat(64),
  };
  await writeFile(logPath, `${JSON.stringify(refusal)}\n${await readFile(logPath, "utf8")}`);
  const treeBefore = sortedEntries(await readTree(install));
  const stateBefore = await readFile(join(install, ".ferry", "state.json"));

  const slow = await startThrottledProxy(served.url, { bytesPerTick: 32 * 1024, tickMs: 50 });
  t.after(() => slow.close());
  const updater = createUpdater({ repoUrl: slow.url, installDir: install, trust: [served.pub] });
  const screen = await serveUpdateScreen({ updater, installDir: install, fs: new NodeFileSystem() });
  t.after(() => screen.close());

  const page = await browser.newPage({ viewport: { width: 800, height: 720 } });
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
  await page.goto(screen.url);

  // Before the first check: the installed version comes from status(), the log from the install.
  await page.locator(`${part("log-body")} tr`, { hasText: "E_BLOCKED" }).waitFor();
  assert.equal(await text(page, "versions"), "Installed 1.0.0 · Not checked yet");
  assert.equal(await text(page, "state"), "idle");
  const before = await logColumns(page);
  assert.deepEqual(before.events, ["updated", "blocked"], "Event column: the log's kind, newest first");
  assert.deepEqual(before.versions, ["1.0.0", "0.9.0"], "Version column: versions, never a release hash");
  assert.doesNotMatch((await page.textContent(part("log"))) ?? "", HEX64);
  assert.ok(await page.locator(part("mandatory")).isHidden());
  await shoot(page, "1-before-check");

  await page.click(part("check"));
  await page.locator(part("state"), { hasText: "available" }).waitFor();
  assert.match(
    await text(page, "versions"),
    /^Installed 1\.0\.0 · Available 2\.0\.0 \(\d+(\.\d)? (KiB|MiB) to download\)$/,
  );
  assert.equal(await page.textContent(part("notes")), "Adds the big level.");
  assert.ok(await page.locator(part("mandatory")).isHidden(), "not mandatory: no badge");
  await shoot(page, "2-available");

  await page.click(part("update"));
  await page.locator(part("state"), { hasText: "downloading" }).waitFor();
  await page.waitForFunction(() => {
    const { document } = globalThis as unknown as PageGlobals;
    return (
      document.querySelector('[data-ferry="bar"]').value > 0 &&
      document.querySelector('[data-ferry="eta"]').textContent !== ""
    );
  });
  const [value, max] = await page.evaluate(() => {
    const bar = (globalThis as unknown as PageGlobals).document.querySelector('[data-ferry="bar"]');
    return [bar.value, bar.max];
  });
  assert.ok(value > 0 && value < max, `progress ${value} of ${max} before pause`);
  assert.match(await text(page, "speed"), /\/s$/);
  assert.match(await text(page, "eta"), /^ETA \d+ s$/);
  await shoot(page, "3-downloading");

  // Paused is a state, not an error: no E_ABORTED, no error tone, no stale speed or ETA.
  await page.click(part("pause"));
  await page.locator(part("state"), { hasText: "paused" }).waitFor();
  assert.equal(updater.state, "paused");
  const pausedText = (await page.textContent("body")) ?? "";
  assert.doesNotMatch(pausedText, /E_ABORTED/);
  assert.match(await text(page, "message"), /^Paused\. Downloaded data is kept/);
  assert.equal(await page.getAttribute(part("message"), "data-tone"), "info");
  assert.equal(await text(page, "speed"), "");
  assert.equal(await text(page, "eta"), "");
  assert.ok(await page.locator(part("resume")).isEnabled());
  assert.ok(await page.locator(part("update")).isDisabled());
  await shoot(page, "4-paused");

  // Resume, then cancel mid-download: cancelled is not an error either, and nothing changed.
  await page.click(part("resume"));
  await page.locator(part("state"), { hasText: "downloading" }).waitFor();
  await page.click(part("cancel"));
  await page.locator(part("state"), { hasText: "cancelled" }).waitFor();
  assert.equal(updater.state, "cancelled");
  assert.equal(await text(page, "message"), "Cancelled. The install is unchanged.");
  assert.doesNotMatch((await page.textContent("body")) ?? "", /E_ABORTED/);
  assert.ok(slow.bytesSent() < BIG_FILE_BYTES, `${slow.bytesSent()} bytes sent: cancelled mid-download`);
  assert.deepEqual(sortedEntries(await readTree(install)), treeBefore);
  assert.deepEqual(await readFile(join(install, ".ferry", "state.json")), stateBefore);
  assert.match(await text(page, "versions"), /^Installed 1\.0\.0 · Available 2\.0\.0 \(/);

  assert.deepEqual(pageErrors, []);
});

test("update screen: a mandatory release is flagged; after the update the header says installed 2.0.0, up to date; an error", async (t) => {
  const browser = await launch(t);
  if (!browser) return;
  const { served, install } = await installedV1(t);
  await served.publish(
    new Map<string, BuildFile>([...sampleGame(1), ["level-2.dat", pseudoRandom("l2", 200_000)]]),
    {
      ...common,
      build: "build",
      version: "2.0.0",
      mandatory: true,
      minVersion: "2.0.0",
      created: new Date(Date.UTC(2026, 0, 2)),
    },
  );
  const updater = createUpdater(served.options(install));
  const screen = await serveUpdateScreen({ updater, installDir: install, fs: new NodeFileSystem() });
  t.after(() => screen.close());
  const page = await browser.newPage({ viewport: { width: 800, height: 720 } });
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
  await page.goto(screen.url);
  await page
    .locator(`${part("log-body")} tr`)
    .first()
    .waitFor();

  await page.click(part("check"));
  await page.locator(part("state"), { hasText: "available" }).waitFor();
  assert.match(await text(page, "versions"), /^Installed 1\.0\.0 · Available 2\.0\.0 \(/);
  assert.ok(await page.locator(part("mandatory")).isVisible(), "mandatory release: badge shown");
  assert.match(
    await text(page, "mandatory"),
    /^Required update: the installed version is below the minimum 2\.0\.0/,
  );
  assert.equal(await page.getAttribute(part("message"), "data-tone"), "warning");
  assert.equal(await text(page, "notes"), "Version 2.0.0 (the publisher gave no release notes).");
  await shoot(page, "6-mandatory-available");

  await page.click(part("update"));
  await page.locator(part("state"), { hasText: "done" }).waitFor();
  await page.locator(`${part("log-body")} tr`, { hasText: "1.0.0 → 2.0.0" }).waitFor();
  assert.equal(await text(page, "versions"), "Installed 2.0.0 · Up to date");
  assert.equal(await text(page, "message"), "Updated to 2.0.0.");
  assert.ok(await page.locator(part("mandatory")).isHidden(), "installed: the badge is gone");
  const done = await logColumns(page);
  assert.deepEqual(done.events, ["updated", "updated"]);
  assert.deepEqual(done.versions, ["1.0.0 → 2.0.0", "1.0.0"]);
  assert.ok(
    done.events.every((e) => e !== ""),
    "Event column never empty",
  );
  assert.equal(await text(page, "speed"), "", "no stale speed after the update");
  await shoot(page, "7-done");

  await page.click(part("check"));
  await page.locator(part("state"), { hasText: "up-to-date" }).waitFor();
  assert.equal(await text(page, "versions"), "Installed 2.0.0 · Up to date");
  assert.equal(await text(page, "message"), "You have the latest version.");
  await shoot(page, "8-up-to-date");

  // A reload after the update: the header comes from the install, not from a stale check.
  await page.reload();
  await page.locator(part("state"), { hasText: "up-to-date" }).waitFor();
  assert.equal(await text(page, "versions"), "Installed 2.0.0 · Up to date");

  // Another screen on the same install, on a URL with no repository: the check fails, shown as an error
  // (code and message, error tone, announced), and the header still shows what is installed.
  const wrong = createUpdater({ ...served.options(install), repoUrl: `${served.url}no-such-repo/` });
  const screen2 = await serveUpdateScreen({ updater: wrong, installDir: install, fs: new NodeFileSystem() });
  t.after(() => screen2.close());
  await page.goto(screen2.url);
  await page.click(part("check"));
  await page.locator(part("state"), { hasText: "failed" }).waitFor();
  assert.match(await text(page, "message"), /^E_HTTP: .*no-such-repo/);
  assert.equal(await page.getAttribute(part("message"), "data-tone"), "error");
  assert.equal(await page.getAttribute(part("message"), "role"), "alert");
  assert.equal(await text(page, "versions"), "Installed 2.0.0 · Not checked yet");
  await shoot(page, "5-error");
  assert.deepEqual(pageErrors, []);
});

test("update screen in simulate mode: marked as a simulation, no real log beside the simulated releases", async (t) => {
  const browser = await launch(t);
  if (!browser) return;
  const { install } = await installedV1(t);
  const updater = createUpdater({
    repoUrl: "http://127.0.0.1:9/never-asked/",
    installDir: install,
    trust: [keys().pub],
    simulate: { mode: "available", stepMs: 40, bytes: 4 * 1024 * 1024, files: 5 },
  });
  const screen = await serveUpdateScreen({ updater, installDir: install, fs: new NodeFileSystem() });
  t.after(() => screen.close());
  const page = await browser.newPage({ viewport: { width: 800, height: 720 } });
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
  await page.goto(screen.url);
  await page.locator(part("log-empty"), { hasText: "Simulation" }).waitFor();
  assert.ok(await page.locator(part("banner")).isVisible());
  assert.match(await text(page, "banner"), /^Simulation: no network, no file is changed/);
  assert.equal(await text(page, "versions"), "Installed 1.0.0 (simulated) · Not checked yet");
  // The real install has an "updated" entry; the simulation must not show it.
  assert.equal(await page.locator(`${part("log-body")} tr`).count(), 0);
  const log = (await (await page.request.get(`${screen.url}api/log`)).json()) as {
    entries: unknown[];
    simulated: boolean;
  };
  assert.deepEqual(log, { entries: [], present: false, simulated: true });

  await page.click(part("check"));
  await page.locator(part("state"), { hasText: "available" }).waitFor();
  assert.equal(
    await text(page, "versions"),
    "Installed 1.0.0 (simulated) · Available 1.1.0 (4.0 MiB to download)",
  );
  await shoot(page, "9-simulate-available");

  await page.click(part("update"));
  await page.locator(part("state"), { hasText: "done" }).waitFor();
  assert.equal(await text(page, "versions"), "Installed 1.1.0 (simulated) · Up to date");
  assert.equal(await page.locator(`${part("log-body")} tr`).count(), 0);
  await shoot(page, "10-simulate-done");
  assert.deepEqual(pageErrors, []);
});
