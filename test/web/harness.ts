/**
 * The browser battery's harness: a repository published with the real publisher and served by nginx
 * configured as docs/HOSTING.md tells web games (test/web/fixtures/nginx-web.conf, a second loopback
 * origin), `ferry web-demo` against it, and Debian's Chromium on a persistent profile that a test can
 * SIGKILL and relaunch. Chromium is spawned here (not by playwright) so its pid is ours to kill;
 * playwright-core attaches over CDP.
 */
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, type TestContext } from "node:test";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { type RunningNginx, startNginx } from "../../src/testing/nginx.js";
import {
  startThrottledProxy,
  type ThrottledProxy,
  type ThrottleOptions,
} from "../../src/testing/throttled-proxy.js";
import { buildWeb } from "../../scripts/build-web.js";
import { type BuildFile, repoFixture, type ServedRepo } from "../helpers/served-repo.js";

const ROOT = join(import.meta.dirname, "..", "..", "..");
/** The nginx snippet HOSTING.md quotes; the tests serve repositories with exactly this text. */
export const NGINX_WEB_CONF = join(ROOT, "test", "web", "fixtures", "nginx-web.conf");
const CLI = join(import.meta.dirname, "..", "..", "src", "cli", "main.js");

// ---------------------------------------------------------------------------------------------------
// Chromium

/** Debian's chromium, or FERRY_CHROMIUM; undefined when there is none. */
export async function findChromium(): Promise<string | undefined> {
  for (const path of [process.env.FERRY_CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
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

/** Skips the test (fails it under CI) when there is no Chromium; returns its path otherwise. */
export async function requireChromium(t: TestContext): Promise<string | undefined> {
  const path = await findChromium();
  if (path) return path;
  const message =
    "CHROMIUM IS NOT INSTALLED: the browser battery did not run. Install Debian's 'chromium' or set FERRY_CHROMIUM.";
  if (process.env.CI) assert.fail(message);
  process.stderr.write(`\n!!!!!! ${message}\n\n`);
  t.skip(message);
  return undefined;
}

export interface RunningBrowser {
  readonly pid: number;
  /** The persistent profile's context (Chromium's default context). */
  readonly context: BrowserContext;
  readonly browser: Browser;
  /** SIGKILL to the browser and every process it started (its process group); resolves once it is gone. */
  kill(): Promise<void>;
  close(): Promise<void>;
}

const LAUNCH_TIMEOUT_MS = 20_000;

function exitedProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => child.once("exit", () => done()));
}

/**
 * Chromium on the profile `userDataDir` (created if missing), headless, attached over CDP. The process
 * leads its own process group so kill() takes its renderers and service-worker processes with it, as a
 * crash of the whole browser would.
 */
export async function openBrowser(executable: string, userDataDir: string): Promise<RunningBrowser> {
  await mkdir(userDataDir, { recursive: true });
  const child = spawn(
    executable,
    [
      "--headless=new",
      "--remote-debugging-port=0",
      `--user-data-dir=${userDataDir}`,
      "--no-first-run",
      "--no-default-browser-check",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      ...(process.getuid?.() === 0 ? ["--no-sandbox"] : []),
      "about:blank",
    ],
    { detached: true, stdio: ["ignore", "ignore", "pipe"] },
  );
  const gone = exitedProcess(child);
  const endpoint = await new Promise<string>((resolve, reject) => {
    let stderr = "";
    const timer = setTimeout(
      () => reject(new Error(`chromium: no DevTools endpoint after ${LAUNCH_TIMEOUT_MS} ms:\n${stderr}`)),
      LAUNCH_TIMEOUT_MS,
    );
    child.stderr?.setEncoding("utf8").on("data", (text: string) => {
      stderr += text;
      const match = /DevTools listening on (ws:\/\/\S+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`chromium exited (${code ?? signal}) before it listened:\n${stderr}`));
    });
  });
  // Keep draining stderr so a chatty browser never blocks on a full pipe.
  child.stderr?.resume();
  const browser = await chromium.connectOverCDP(endpoint);
  const context = browser.contexts()[0];
  assert.ok(context, "chromium: no default context over CDP");
  const pid = child.pid!;
  const killGroup = () => {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
  };
  return {
    pid,
    context,
    browser,
    async kill() {
      killGroup();
      await gone;
      await browser.close().catch(() => undefined);
    },
    async close() {
      await browser.close().catch(() => undefined);
      killGroup();
      await gone;
    },
  };
}

let shared: Promise<RunningBrowser> | undefined;
let sharedProfile: string | undefined;

// Top level, so it runs after all of the file's tests (a hook made inside a test would run after that test).
after(async () => {
  const browser = await shared?.catch(() => undefined);
  await browser?.close();
  if (sharedProfile) await rm(sharedProfile, { recursive: true, force: true });
});

/**
 * One browser for a test file, on a fresh persistent profile, closed (and the profile removed) after
 * the file's tests; undefined (test skipped) without Chromium. Tests isolate their storage by origin:
 * each starts its own demo on its own port.
 */
export async function fileBrowser(t: TestContext): Promise<RunningBrowser | undefined> {
  const executable = await requireChromium(t);
  if (!executable) return undefined;
  if (!shared) {
    shared = (async () => {
      sharedProfile = await mkdtemp(join(tmpdir(), "ferry-web-profile-"));
      return openBrowser(executable, sharedProfile);
    })();
  }
  return shared;
}

/** A new page of `browser`, closed after the test; page errors are collected into the array returned. */
export async function newPage(
  t: TestContext,
  browser: RunningBrowser,
): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  t.after(() => page.close().catch(() => undefined));
  return { page, errors };
}

// ---------------------------------------------------------------------------------------------------
// Repository on a second origin

export interface WebRepo {
  readonly served: ServedRepo;
  /** nginx serving the repository with the web configuration (CORS), or the default one without. */
  readonly nginx: RunningNginx;
  /** A pass-through proxy in front of nginx that counts body bytes: the URL the browser uses. */
  readonly proxy: ThrottledProxy;
  readonly url: string;
  /** The root public key, as a file for --trust. */
  readonly trustFile: string;
  /** Publishes a release (build files → its bytes kept for comparison). */
  publish(version: string, files: ReadonlyMap<string, Uint8Array>, extra?: PublishExtra): Promise<void>;
  /** Stops the repository's servers (offline play). */
  close(): Promise<void>;
  /** Stops nginx only (the proxy stays, answering with a broken connection): the origin is unreachable. */
  stopOrigin(): Promise<void>;
  /** Starts nginx again on the same port, with the same configuration. */
  startOrigin(): Promise<void>;
}

export interface PublishExtra {
  readonly packages?: unknown;
  readonly deltaHistory?: number;
  readonly created?: Date;
  readonly expiresInDays?: number;
  readonly allowShortExpiry?: boolean;
}

let publishDay = 0;

export async function webRepo(
  t: TestContext,
  options: { readonly cors?: boolean; readonly throttle?: ThrottleOptions } = {},
): Promise<WebRepo> {
  const served = await repoFixture(t);
  const server = options.cors === false ? undefined : await readFile(NGINX_WEB_CONF, "utf8");
  let nginx = await startNginx(served.repo, server === undefined ? {} : { server });
  const port = Number(new URL(nginx.url).port);
  // Without a throttle: one huge tick, so the proxy only counts.
  const proxy = await startThrottledProxy(
    nginx.url,
    options.throttle ?? { bytesPerTick: 1 << 30, tickMs: 0 },
  );
  const trustFile = join(served.dir, "root.pub");
  await writeFile(trustFile, served.publicText);
  const close = async () => {
    await proxy.close();
    await nginx.close();
  };
  const stopOrigin = () => nginx.close();
  const startOrigin = async () => {
    nginx = await startNginx(served.repo, server === undefined ? { port } : { server, port });
  };
  t.after(close);
  return {
    served,
    get nginx() {
      return nginx;
    },
    proxy,
    url: proxy.url,
    trustFile,
    close,
    stopOrigin,
    startOrigin,
    async publish(version, files, extra = {}) {
      const { packages, ...rest } = extra;
      await served.publish(new Map<string, BuildFile>(files), {
        version,
        build: "build",
        expiresInDays: 36500,
        rootExpiresInDays: 36500,
        deltaHistory: 0,
        created: new Date(Date.UTC(2026, 0, 1) + ++publishDay * 60_000),
        ...(packages === undefined ? {} : { packages }),
        ...rest,
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// The demo

export interface Demo {
  readonly url: string;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const DEMO_START_MS = 60_000;
let built: Promise<unknown> | undefined;

/** `ferry web-demo <repo> --trust <file> --port N`: its first stdout line is the URL. Stopped by t.after. */
export async function startDemo(
  t: TestContext,
  repo: Pick<WebRepo, "url" | "trustFile">,
  extra: readonly string[] = [],
): Promise<Demo> {
  // The demo serves dist/web (the runtime's bundles): built from the sources once per test file.
  await (built ??= buildWeb());
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [CLI, "web-demo", repo.url, "--trust", repo.trustFile, "--port", String(port), ...extra],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (text: string) => (stderr += text));
  const gone = exitedProcess(child);
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await gone;
  };
  t.after(close);
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = "";
    const timer = setTimeout(
      () => reject(new Error(`ferry web-demo: no URL after ${DEMO_START_MS} ms\n${stderr}`)),
      DEMO_START_MS,
    );
    child.stdout?.setEncoding("utf8").on("data", (text: string) => {
      stdout += text;
      const end = stdout.indexOf("\n");
      if (end >= 0) {
        clearTimeout(timer);
        resolve(stdout.slice(0, end).trim());
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`ferry web-demo exited (${code ?? signal}) before printing its URL:\n${stderr}`));
    });
  });
  child.stdout?.resume();
  assert.match(
    url,
    /^http:\/\/localhost:\d+\/$/,
    `the demo's first line is its URL, got ${JSON.stringify(url)}`,
  );
  return { url, close };
}

// ---------------------------------------------------------------------------------------------------
// Talking to window.ferry

/** What a call of window.ferry gave: its value, or the error's code and message. */
export type Outcome<T = unknown> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly code: string | undefined; readonly message: string };

interface PageWindow {
  ferry: Record<string, (...args: unknown[]) => Promise<unknown>>;
  ferryReady?: boolean;
  ferryReadyPromise?: Promise<unknown>;
  __ferryEvents?: unknown[];
}

const READY_MS = 30_000;

/** Opens (or reloads) the demo in `page` and waits until window.ferry is usable. */
export async function openDemo(page: Page, demo: Demo): Promise<void> {
  await page.goto(demo.url);
  await waitReady(page);
}

export async function waitReady(page: Page): Promise<void> {
  await page.waitForFunction(
    () => {
      const w = globalThis as unknown as PageWindow;
      return w.ferryReady === true || w.ferryReadyPromise !== undefined;
    },
    undefined,
    { timeout: READY_MS },
  );
  await page.evaluate(async () => {
    const w = globalThis as unknown as PageWindow;
    await w.ferryReadyPromise;
  });
  // The service worker controls the page only from its first navigation after activation.
  const controlled = await page.evaluate(async () => {
    const nav = (
      globalThis as unknown as {
        navigator: { serviceWorker?: { ready: Promise<unknown>; controller: unknown } };
      }
    ).navigator;
    if (!nav.serviceWorker) return true;
    await nav.serviceWorker.ready;
    return nav.serviceWorker.controller !== null;
  });
  if (!controlled) {
    await page.reload();
    await page.evaluate(async () => {
      const w = globalThis as unknown as PageWindow;
      await w.ferryReadyPromise;
    });
  }
}

/** Calls window.ferry[method](...args) in the page; a rejection comes back as its code and message. */
export async function call<T = unknown>(page: Page, method: string, ...args: unknown[]): Promise<Outcome<T>> {
  return page.evaluate(
    async ([name, params]) => {
      const w = globalThis as unknown as PageWindow;
      const fn = w.ferry[name];
      if (typeof fn !== "function")
        return { ok: false as const, code: "NO_METHOD", message: `window.ferry.${name} is not a function` };
      try {
        const value = await fn.apply(w.ferry, params);
        // Structured clone drops what the test does not read (functions, class identity).
        return { ok: true as const, value: JSON.parse(JSON.stringify(value ?? null)) as unknown };
      } catch (error) {
        const e = error as { code?: unknown; message?: unknown };
        return {
          ok: false as const,
          code: typeof e.code === "string" ? e.code : undefined,
          message: String(e.message ?? error),
        };
      }
    },
    [method, args] as const,
  ) as Promise<Outcome<T>>;
}

/** call() that must succeed; returns the value. */
export async function ok<T = unknown>(page: Page, method: string, ...args: unknown[]): Promise<T> {
  const outcome = await call<T>(page, method, ...args);
  assert.ok(
    outcome.ok,
    `window.ferry.${method}() rejected: ${outcome.ok ? "" : `${outcome.code}: ${outcome.message}`}`,
  );
  return outcome.value;
}

/** call() that must reject with `code`; returns the message. */
export async function rejects(page: Page, method: string, code: string, ...args: unknown[]): Promise<string> {
  const outcome = await call(page, method, ...args);
  assert.ok(!outcome.ok, `window.ferry.${method}() resolved, expected ${code}`);
  assert.equal(outcome.code, code, `window.ferry.${method}(): ${outcome.message}`);
  return outcome.message;
}

/** The installed version (status().version), or null before the first install. */
export async function installedVersion(page: Page): Promise<string | null> {
  const status = await ok<{ version?: string } | null>(page, "status");
  return status === null ? null : (status.version ?? null);
}

/** Starts window.ferry.update() without waiting; the promise settles in the page (window.__ferryUpdate). */
export async function startUpdate(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = globalThis as unknown as PageWindow & { __ferryUpdate?: Promise<unknown> };
    w.__ferryUpdate = w.ferry.update!().catch(() => undefined);
  });
}

// ---------------------------------------------------------------------------------------------------
// Releases and what /game/* serves

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** path → SHA-256 of every file of a release. */
export function hashes(files: ReadonlyMap<string, Uint8Array>): Map<string, string> {
  return new Map([...files].map(([path, data]) => [path, sha256(data)]));
}

/** For each path: the SHA-256 of what GET /game/<path> answers, or "HTTP <status>" / "error: …". */
export async function served(page: Page, paths: readonly string[]): Promise<Map<string, string>> {
  const results = await page.evaluate(async (list) => {
    const g = globalThis as unknown as {
      fetch(
        url: string,
        init?: unknown,
      ): Promise<{ ok: boolean; status: number; arrayBuffer(): Promise<ArrayBuffer> }>;
      crypto: { subtle: { digest(alg: string, data: ArrayBuffer): Promise<ArrayBuffer> } };
    };
    const out: [string, string][] = [];
    for (const path of list) {
      try {
        const url = `/game/${path.split("/").map(encodeURIComponent).join("/")}`;
        const response = await g.fetch(url, { cache: "no-store" });
        if (!response.ok) {
          out.push([path, `HTTP ${response.status}`]);
          continue;
        }
        const digest = new Uint8Array(await g.crypto.subtle.digest("SHA-256", await response.arrayBuffer()));
        out.push([path, Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("")]);
      } catch (error) {
        out.push([path, `error: ${String(error)}`]);
      }
    }
    return out;
  }, paths);
  return new Map(results);
}

/** Which of `releases` (name → files) every /game/* file matches; fails on a mix or a file of none. */
export async function servedRelease(
  page: Page,
  releases: Readonly<Record<string, ReadonlyMap<string, Uint8Array>>>,
): Promise<string> {
  const paths = [...new Set(Object.values(releases).flatMap((files) => [...files.keys()]))].sort();
  const got = await served(page, paths);
  const matching = Object.entries(releases)
    .filter(([, files]) =>
      paths.every((path) => {
        const data = files.get(path);
        const answer = got.get(path)!;
        return data === undefined ? answer === "HTTP 404" : answer === sha256(data);
      }),
    )
    .map(([name]) => name);
  assert.ok(
    matching.length > 0,
    `/game/* is none of ${Object.keys(releases).join(", ")} exactly:\n${paths
      .map(
        (p) =>
          `  ${p}: ${got.get(p)} (${Object.entries(releases)
            .map(([n, f]) => `${n} ${f.has(p) ? sha256(f.get(p)!).slice(0, 12) : "absent"}`)
            .join(", ")})`,
      )
      .join("\n")}`,
  );
  return matching[0]!;
}

/** /game/* serves exactly `files` (and 404 for `absent`). */
export async function assertServes(
  page: Page,
  files: ReadonlyMap<string, Uint8Array>,
  absent: readonly string[] = [],
): Promise<void> {
  const got = await served(page, [...files.keys(), ...absent]);
  const want = new Map([...hashes(files), ...absent.map((p) => [p, "HTTP 404"] as const)]);
  assert.deepEqual([...got].sort(), [...want].sort());
}

/** Flips one byte every `stride` bytes of the file: every chunk stored in it is damaged. */
export async function damage(path: string, stride = 1024): Promise<void> {
  const bytes = await readFile(path);
  for (let at = Math.min(17, bytes.length - 1); at < bytes.length; at += stride) bytes[at]! ^= 0x5a;
  await writeFile(path, bytes);
}
