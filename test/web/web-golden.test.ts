/**
 * The conformance vectors (docs/FORMAT.md "Conformance vectors", test/fixtures/golden-repo) run by the
 * browser runtime in headless Chromium, without a service worker (the `read()` path): fresh installs equal
 * the expected listings, the update chain uses deltas, the optional package, and the negative vectors fail
 * with the Node client's codes.
 */
import assert from "node:assert/strict";
import { access, cp, readdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { type Browser, chromium, type Page } from "playwright-core";
import { CLIENT_NOW } from "../../scripts/make-golden-repo.js";
import { buildWeb } from "../../scripts/build-web.js";
import { serveRepository } from "../../src/server/static-server.js";
import { tempDir } from "../helpers/helpers.js";
import { corsProxy } from "./cors-proxy.js";
import { pageServer } from "./page-server.js";

const FIXTURE = resolve(import.meta.dirname, "..", "..", "..", "test", "fixtures", "golden-repo");
const REPO = join(FIXTURE, "repo");

let browser: Browser | undefined;
let page: Page;
let repoUrl: string;
let key: string;
const closers: (() => Promise<void>)[] = [];

async function chromiumPath(): Promise<string | undefined> {
  for (const p of [process.env.FERRY_CHROMIUM, "/usr/bin/chromium"]) {
    if (!p) continue;
    try {
      await access(p);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

/** Serves `repo` on a second origin with CORS; returns its URL. */
async function served(repo: string): Promise<string> {
  const server = await serveRepository({ root: repo });
  const proxy = await corsProxy(server.url);
  closers.push(
    () => proxy.close(),
    () => server.close(),
  );
  return proxy.url;
}

before(async () => {
  const executablePath = await chromiumPath();
  if (!executablePath) return;
  const built = await buildWeb();
  const pages = await pageServer(resolve(built.module, ".."));
  closers.push(() => pages.close());
  repoUrl = await served(REPO);
  key = (await readFile(join(FIXTURE, "keys", "key-1.pub"), "utf8")).trim();
  browser = await chromium.launch({ executablePath });
  page = await browser.newPage();
  await page.goto(pages.url);
});
after(async () => {
  await browser?.close();
  for (const close of closers.reverse()) await close();
});

interface Step {
  readonly channel: string;
  readonly packages?: readonly string[];
  /** Bytes the site may still store, as navigator.storage.estimate() would say. */
  readonly available?: number;
}
interface StepResult {
  readonly code?: string;
  readonly message?: string;
  readonly version?: string;
  readonly deltas?: number;
  readonly listing?: Record<string, { sha256: string; size: number }>;
}

/** Runs `steps` as successive page loads of one app (a new runtime each), in the page. */
function run(app: string, steps: readonly Step[], url = repoUrl): Promise<StepResult[]> {
  return page.evaluate(
    async ({ app, steps, url, key, now }) => {
      const mod = (await import("/ferry-web.js" as string)) as {
        createFerry(options: unknown): Promise<{
          update(): Promise<{ version: string; deltas: number }>;
          files(): Promise<
            { path: string; size: number; sha256: string; package: string; stored: boolean }[]
          >;
          read(path: string): Promise<Uint8Array>;
          packages: { add(names: readonly string[]): Promise<unknown> };
        }>;
      };
      const clock = {
        now: () => new Date(now),
        sleep: (ms: number) => new Promise((done) => setTimeout(done, Math.min(ms, 10))),
      };
      const hex = async (data: Uint8Array) =>
        [...new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>))]
          .map((b) => b.toString(16).padStart(2, "0"))
          .join("");
      const results = [];
      for (const step of steps) {
        try {
          const trust = { kind: "keys", keys: [key], threshold: 1 };
          const available = step.available;
          const ferry = await mod.createFerry({
            repoUrl: url,
            channel: step.channel,
            trust,
            app,
            ports: available === undefined ? { clock } : { clock, available: async () => available },
            maxAttempts: 2,
          });
          const summary = await ferry.update();
          if (step.packages) await ferry.packages.add(step.packages);
          const after = await mod.createFerry({
            repoUrl: url,
            channel: step.channel,
            trust,
            app,
            ports: { clock },
          });
          const listing: Record<string, { sha256: string; size: number }> = {};
          for (const f of await after.files()) {
            if (!f.stored) continue;
            const bytes = await after.read(f.path);
            listing[f.path] = { sha256: await hex(bytes), size: bytes.length };
          }
          results.push({ version: summary.version, deltas: summary.deltas, listing });
        } catch (error) {
          const e = error as { code?: string; message?: string };
          results.push({ code: e.code ?? "none", message: String(e.message) });
        }
      }
      return results;
    },
    { app, steps, url, key, now: CLIENT_NOW.getTime() },
  );
}

async function expected(name: string): Promise<Record<string, { sha256: string; size: number }>> {
  const listing = JSON.parse(await readFile(join(FIXTURE, "expected", `${name}.json`), "utf8")) as Record<
    string,
    { sha256: string; size: number }
  >;
  return Object.fromEntries(Object.entries(listing).map(([p, f]) => [p, { sha256: f.sha256, size: f.size }]));
}

const sorted = (listing: Record<string, unknown> | undefined) =>
  Object.fromEntries(Object.entries(listing ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)));

/** A served copy of the golden repository with `edit` applied. */
async function editedCopy(edit: (repo: string) => Promise<void>): Promise<string> {
  const repo = join(await tempDir({ after: (fn) => void closers.push(fn) }), "repo");
  await cp(REPO, repo, { recursive: true });
  await edit(repo);
  return served(repo);
}

for (const [release, channel] of [
  ["r1", "release-1"],
  ["r2", "release-2"],
  ["r3", "stable"],
] as const) {
  test(`web golden: fresh install of ${release} (channel ${channel}) gives expected/${release}`, async (t) => {
    if (!browser) return t.skip("no chromium");
    const [result] = await run(`fresh-${release}`, [{ channel }]);
    assert.equal(result?.version, `${release.slice(1)}.0.0`, JSON.stringify(result));
    assert.deepEqual(sorted(result?.listing), await expected(release));
  });
}

test("web golden: update chain r1 -> r2 -> r3 with deltas", async (t) => {
  if (!browser) return t.skip("no chromium");
  const results = await run("chain", [
    { channel: "release-1" },
    { channel: "release-2" },
    { channel: "stable" },
  ]);
  assert.deepEqual(sorted(results[0]?.listing), await expected("r1"));
  assert.ok((results[1]?.deltas ?? 0) > 0, `r2 lists deltas from r1: ${JSON.stringify(results[1])}`);
  assert.deepEqual(sorted(results[1]?.listing), await expected("r2"));
  assert.ok((results[2]?.deltas ?? 0) > 0, "r3 lists deltas from r2");
  assert.deepEqual(sorted(results[2]?.listing), await expected("r3"));
});

test("web golden: r3 with the optional package hd gives expected/r3-with-hd", async (t) => {
  if (!browser) return t.skip("no chromium");
  const [result] = await run("hd", [{ channel: "stable", packages: ["hd"] }]);
  assert.deepEqual(sorted(result?.listing), await expected("r3-with-hd"));
});

test("web golden: links (r4) are refused with E_SYMLINK (OPFS has no links)", async (t) => {
  if (!browser) return t.skip("no chromium");
  const [result] = await run("links", [{ channel: "links" }]);
  assert.equal(result?.code, "E_SYMLINK", JSON.stringify(result));
});

test("web golden: too little storage quota is E_NO_SPACE before any pack is fetched; with room, r3 installs", async (t) => {
  if (!browser) return t.skip("no chromium");
  const [result] = await run("no-space", [{ channel: "stable", available: 1000 }]);
  assert.equal(result?.code, "E_NO_SPACE", JSON.stringify(result));
  const [later] = await run("no-space", [{ channel: "stable" }]);
  assert.deepEqual(sorted(later?.listing), await expected("r3"), "a later update with room installs r3");
});

test("web golden negative: tampered pack E_HASH_MISMATCH, tampered pointer E_SIGNATURE, replay E_ROLLBACK", async (t) => {
  if (!browser) return t.skip("no chromium");
  const tampered = await editedCopy(async (repo) => {
    for (const name of await readdir(join(repo, "packs"))) {
      if (!name.endsWith(".pack")) continue;
      const path = join(repo, "packs", name);
      const bytes = await readFile(path);
      for (let i = 0; i < bytes.length; i += 512) bytes[i]! ^= 0xff;
      await writeFile(path, bytes);
    }
  });
  const [pack] = await run("tampered-pack", [{ channel: "stable" }], tampered);
  assert.equal(pack?.code, "E_HASH_MISMATCH", JSON.stringify(pack));
  const forged = await editedCopy((repo) =>
    cp(join(FIXTURE, "negative", "tampered-pointer.json"), join(repo, "channels", "stable.json")),
  );
  const [pointer] = await run("tampered-pointer", [{ channel: "stable" }], forged);
  assert.equal(pointer?.code, "E_SIGNATURE", JSON.stringify(pointer));
  await run("replay", [{ channel: "stable" }]);
  const replayed = await editedCopy((repo) =>
    cp(join(FIXTURE, "negative", "replayed-stable.json"), join(repo, "channels", "stable.json")),
  );
  const [replay] = await run("replay", [{ channel: "stable" }], replayed);
  assert.equal(replay?.code, "E_ROLLBACK", JSON.stringify(replay));
});
