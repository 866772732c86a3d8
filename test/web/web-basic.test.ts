/**
 * The browser runtime (docs/WEB.md) in headless Chromium against a repository published by the real
 * publisher, served by Ferry's static server behind a second loopback origin that sends CORS headers:
 * fresh install, update with deltas, /game/ bytes, offline play, a tampered pack refused.
 */
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { access, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { type TestContext, test } from "node:test";
import { type Browser, chromium, type Page } from "playwright-core";
import { sampleGame } from "../../src/testing/game-fixture.js";
import { buildWeb } from "../../scripts/build-web.js";
import { repoFixture } from "../helpers/served-repo.js";
import { corsProxy } from "./cors-proxy.js";

const CLI = join(import.meta.dirname, "..", "..", "src", "cli", "main.js");

async function findChromium(): Promise<string | undefined> {
  for (const path of [process.env.FERRY_CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
    if (!path) continue;
    try {
      await access(path);
      return path;
    } catch {
      // next
    }
  }
  return undefined;
}

/** `ferry web-demo` in a child process; resolves with the URL it prints first. */
async function webDemo(t: TestContext, args: string[]): Promise<string> {
  const child: ChildProcess = spawn(process.execPath, [CLI, "web-demo", ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  t.after(() => {
    child.kill("SIGTERM");
  });
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once("line", resolve);
    child.once("exit", (code) => reject(new Error(`web-demo exited with ${code} before printing its URL`)));
  });
  return first;
}

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

/** SHA-256 and status of each /game/<path> as the page's fetch sees it (through the service worker). */
function gameFiles(
  page: Page,
  paths: readonly string[],
): Promise<Record<string, { status: number; sha256: string }>> {
  return page.evaluate(async (list) => {
    const out: Record<string, { status: number; sha256: string }> = {};
    await Promise.all(
      list.map(async (p) => {
        const response = await fetch(`/game/${p}`);
        const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", await response.arrayBuffer()));
        out[p] = {
          status: response.status,
          sha256: [...digest].map((b) => b.toString(16).padStart(2, "0")).join(""),
        };
      }),
    );
    return out;
  }, paths);
}

/** Asserts that /game/ serves exactly `files` (path → bytes). */
async function assertServes(
  page: Page,
  files: ReadonlyMap<string, { data: Uint8Array }>,
  what: string,
): Promise<void> {
  const served = await gameFiles(page, [...files.keys()]);
  for (const [path, file] of files) {
    assert.deepEqual(served[path], { status: 200, sha256: sha256(file.data) }, `${what}: ${path}`);
  }
}

/** What the test reads in the page (the main build compiles without the DOM library). */
interface OpfsDirectory {
  keys(): AsyncIterable<string>;
  getDirectoryHandle(name: string): Promise<OpfsDirectory>;
  removeEntry(name: string): Promise<void>;
}
interface PageGlobals {
  readonly document: {
    getElementById(
      id: string,
    ): { getAttribute(name: string): string | null; textContent: string | null } | null;
  };
  readonly navigator: { readonly storage: { getDirectory(): Promise<OpfsDirectory> } };
}

interface PageFerry {
  update(): Promise<{ version: string; bytes: number; deltas: number; files: number }>;
  status(): Promise<{ version: string } | null>;
  check(): Promise<{ available: boolean; version: string }>;
}

/** Runs `ferry.<method>()` in the page; a rejection comes back as { code }. */
function call<T>(page: Page, method: keyof PageFerry): Promise<T | { code: string; message: string }> {
  return page.evaluate(async (m) => {
    const ferry = (globalThis as unknown as { ferry: Record<string, () => Promise<unknown>> }).ferry;
    try {
      return (await ferry[m]!()) as never;
    } catch (error) {
      const e = error as { code?: string; message?: string };
      return { code: e.code ?? "none", message: String(e.message) } as never;
    }
  }, method);
}

async function open(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForFunction(() => {
    const w = globalThis as unknown as { ferryReady?: boolean; ferryBootError?: unknown };
    if (w.ferryBootError) throw new Error(JSON.stringify(w.ferryBootError));
    return w.ferryReady === true;
  });
}

test("browser runtime: install, delta update, /game bytes, offline, tampered pack", async (t) => {
  const executablePath = await findChromium();
  if (!executablePath) {
    if (process.env.CI) assert.fail("Chromium is not installed: the browser runtime test did not run.");
    t.skip("no chromium (set FERRY_CHROMIUM)");
    return;
  }
  await buildWeb();
  const fixture = await repoFixture(t);
  const publishVersion = (v: 1 | 2 | 3) =>
    fixture.publish(sampleGame(v), {
      build: `build-v${v}`,
      version: `${v}.0.0`,
      created: new Date(Date.UTC(2026, 0, v)),
      expiresInDays: 36500,
      rootExpiresInDays: 36500,
    });
  await publishVersion(1);
  const proxy = await corsProxy(fixture.url);
  let proxyOpen = true;
  t.after(() => (proxyOpen ? proxy.close() : undefined));
  const pubFile = join(fixture.dir, "root.pub");
  await writeFile(pubFile, `${fixture.publicText}\n`);
  const url = await webDemo(t, [proxy.url, "--trust", pubFile, "--port", "0"]);
  assert.match(url, /^http:\/\/localhost:\d+\/$/);

  const browser: Browser = await chromium.launch({ executablePath });
  t.after(() => browser.close());
  const page = await (await browser.newContext()).newPage();
  await open(page, url);

  // Fresh install.
  assert.equal(await call(page, "status"), null);
  const check = (await call(page, "check")) as { available: boolean; version: string };
  assert.deepEqual([check.available, check.version], [true, "1.0.0"]);
  const first = (await call(page, "update")) as { version: string; bytes: number; files: number };
  assert.equal(first.version, "1.0.0", JSON.stringify(first));
  // The update screen (src/ui/view.ts) followed the runtime's events.
  const screen = await page.evaluate(() => {
    const root = (globalThis as unknown as PageGlobals).document.getElementById("ferry-update")!;
    return { state: root.getAttribute("data-state"), text: root.textContent ?? "" };
  });
  assert.equal(screen.state, "done", JSON.stringify(screen));
  assert.match(screen.text, /1\.0\.0/);
  const v1 = sampleGame(1);
  await assertServes(page, v1, "v1");
  assert.equal((await gameFiles(page, ["no/such/file.txt"]))["no/such/file.txt"]?.status, 404);
  assert.ok(
    proxy.log.some((l) => / bytes=\d+-\d+$/.test(l)),
    "packs are fetched by single ranges",
  );
  assert.ok(!proxy.log.some((l) => /bytes=.*,/.test(l)), "never a multi-range request");

  // Update with deltas: fewer bytes than the changed files.
  await publishVersion(2);
  const v2 = sampleGame(2);
  const changed = [...v2].filter(
    ([path, f]) => sha256(v1.get(path)?.data ?? new Uint8Array()) !== sha256(f.data),
  );
  const changedBytes = changed.reduce((sum, [, f]) => sum + f.data.length, 0);
  const second = (await call(page, "update")) as { version: string; bytes: number; deltas: number };
  assert.equal(second.version, "2.0.0", JSON.stringify(second));
  t.diagnostic(
    `install ${JSON.stringify(first)}; update ${JSON.stringify(second)}; changed files ${changedBytes} B`,
  );
  assert.ok(second.deltas > 0, `deltas applied: ${JSON.stringify(second)}`);
  assert.ok(second.bytes < changedBytes, `downloaded ${second.bytes} B < changed files ${changedBytes} B`);
  // This page keeps reading the release it loaded with; a reload reads the new one.
  await assertServes(page, new Map([...v1].filter(([p]) => v2.has(p))), "before reload, still v1");
  const [path2, file2] = changed[0]!;
  await open(page, url);
  await assertServes(page, v2, "after reload, v2");

  // One writer: a second update while one runs fails with E_BUSY.
  const both = await page.evaluate(async () => {
    const ferry = (globalThis as unknown as { ferry: { update(): Promise<unknown> } }).ferry;
    const settled = await Promise.allSettled([ferry.update(), ferry.update()]);
    return settled.map((r) => (r.status === "fulfilled" ? "ok" : (r.reason as { code: string }).code));
  });
  assert.deepEqual(both, ["ok", "E_BUSY"]);

  // Evicted storage is a cache: an object removed from OPFS is fetched again (by the worker) when served.
  const evicted = await page.evaluate(async (hash) => {
    const root = await (globalThis as unknown as PageGlobals).navigator.storage.getDirectory();
    for await (const name of root.keys()) {
      if (!name.startsWith("ferry-")) continue;
      const objects = await (await root.getDirectoryHandle(name)).getDirectoryHandle("objects");
      await objects.removeEntry(hash);
      return true;
    }
    return false;
  }, sha256(file2.data));
  assert.ok(evicted);
  await assertServes(page, new Map([[path2, file2]]), "evicted, fetched again");

  // A tampered pack byte: refused, the stored release intact.
  const packsBefore = new Set(await readdir(join(fixture.repo, "packs")));
  await publishVersion(3);
  const newPacks = (await readdir(join(fixture.repo, "packs"))).filter((p) => !packsBefore.has(p));
  assert.ok(newPacks.length > 0);
  for (const name of newPacks) {
    const packPath = join(fixture.repo, "packs", name);
    const bytes = await readFile(packPath);
    for (let i = 0; i < bytes.length; i += 97) bytes[i] = bytes[i]! ^ 0xff;
    await writeFile(packPath, bytes);
    assert.equal((await stat(packPath)).size, bytes.length);
  }
  const refused = (await call(page, "update")) as { code: string; message: string };
  assert.equal(refused.code, "E_HASH_MISMATCH", JSON.stringify(refused));
  assert.equal(((await call(page, "status")) as { version: string }).version, "2.0.0");
  await open(page, url);
  await assertServes(page, v2, "after the refused update");

  // Offline: the repository's origin is gone; the installed release is still served.
  await proxy.close();
  proxyOpen = false;
  await open(page, url);
  await assertServes(page, v2, "offline");
  const offline = (await call(page, "check")) as { code: string };
  assert.equal(offline.code, "E_NETWORK");
});
