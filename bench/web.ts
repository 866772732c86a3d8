/**
 * The browser runtime in headless Chromium, against Node in the same run:
 *
 * - decode MB/s of each codec the format uses (FORMAT.md §4): `br` through the runtime's decoder
 *   (brotli-wasm, `loadBrotli()` of dist/web/ferry-web.js) vs Node's zlib on the same chunks; `raw`
 *   (the stored bytes are the chunk: a copy into the output);
 * - SHA-256 MB/s: WebCrypto per 64 KiB chunk (how the runtime verifies) and per 4 MiB, vs node:crypto;
 * - install and update wall time and bytes for the same repository (the corpus, v3.0.0 → v3.2.5, or the
 *   generated sample game when the corpus is absent), browser runtime (`createFerry().update()`, OPFS +
 *   IndexedDB) vs the Node client (`update()`), both through the same counting proxy in front of nginx
 *   with HOSTING.md's web configuration.
 *
 * Prints a markdown table. Run: npm run bench:web (builds first). FERRY_BENCH_SCALE scales the
 * generated game; FERRY_CHROMIUM names the browser.
 */
import "../src/register-node.js";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { brotliCompressSync, brotliDecompressSync, constants as zlib } from "node:zlib";
import { chromium } from "playwright-core";
import { update } from "../src/client/ops/update.js";
import { generateKeyPair, parsePrivateKey, parsePublicKey } from "../src/node/node-keys.js";
import { publish } from "../src/publisher/publish.js";
import { pseudoRandom, sampleGame, writeGame } from "../src/testing/game-fixture.js";
import { startNginx } from "../src/testing/nginx.js";
import { startThrottledProxy } from "../src/testing/throttled-proxy.js";
import { buildWeb } from "../scripts/build-web.js";

const ROOT = resolve(import.meta.dirname, "..", "..");
const CORPUS = resolve(ROOT, "..", "shared", "corpus", "shattered-pixel-dungeon");
const SCALE = Number(process.env.FERRY_BENCH_SCALE ?? 2);
const CHUNK = 64 * 1024;
const ROUNDS = 3;

const tmp = await mkdtemp(join(tmpdir(), "ferry-bench-web-"));
const cleanup: (() => Promise<unknown>)[] = [];

/** Text-like chunks (as game data compresses) and their Brotli form at the publisher's settings. */
function codecData(): { raw: Uint8Array[]; br: Uint8Array[] } {
  const words = "the hero opens the dungeon door and finds gold potion sword level dragon shield ".split(" ");
  const random = pseudoRandom("bench-web-text", 4 * 1024 * 1024);
  const raw: Uint8Array[] = [];
  for (let c = 0; c < 256; c++) {
    let text = "";
    for (let i = 0; text.length < CHUNK; i++)
      text += `${words[random[(c * 8192 + i) % random.length]! % words.length]} `;
    raw.push(new TextEncoder().encode(text.slice(0, CHUNK)));
  }
  const br = raw.map((chunk) =>
    brotliCompressSync(chunk, {
      params: {
        [zlib.BROTLI_PARAM_QUALITY]: 8,
        [zlib.BROTLI_PARAM_LGWIN]: 17,
        [zlib.BROTLI_PARAM_SIZE_HINT]: chunk.length,
      },
    }),
  );
  return { raw, br: br.map((b) => new Uint8Array(b)) };
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function best(times: number[]): number {
  return Math.min(...times);
}

const mbps = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);

// --- the page origin: the runtime's bundle and the benchmark's data -------------------------------
const web = await buildWeb({ outDir: join(tmp, "web") });
const data = codecData();
const brBlob = concat(data.br);
const rawBlob = concat(data.raw);
const page = `<!doctype html><meta charset="utf-8"><title>ferry bench</title>
<script type="module">import * as F from "/ferry-web.js"; globalThis.F = F; globalThis.benchReady = true;</script>`;
const files: Record<string, [string, Uint8Array | string]> = {
  "/": ["text/html", page],
  "/ferry-web.js": ["text/javascript", await readFile(web.module)],
  "/br.bin": ["application/octet-stream", brBlob],
  "/raw.bin": ["application/octet-stream", rawBlob],
};
const origin = createServer((req, res) => {
  const file = files[new URL(req.url ?? "/", "http://x").pathname];
  if (!file) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { "content-type": file[0], "cache-control": "no-store" }).end(file[1]);
});
await new Promise<void>((r) => origin.listen(0, "127.0.0.1", r));
cleanup.push(() => new Promise((r) => origin.close(r)));
// localhost: a secure context (OPFS, WebCrypto), and another origin than the repository's 127.0.0.1.
const pageUrl = `http://localhost:${(origin.address() as AddressInfo).port}/`;

const executablePath = process.env.FERRY_CHROMIUM ?? "/usr/bin/chromium";
const context = await chromium.launchPersistentContext(join(tmp, "profile"), {
  executablePath,
  headless: true,
});
cleanup.push(() => context.close());
const tab = await context.newPage();
await tab.goto(pageUrl);
await tab.waitForFunction(() => (globalThis as unknown as { benchReady?: boolean }).benchReady === true);

const brSizes = data.br.map((b) => b.length);
const rawSizes = data.raw.map((b) => b.length);
const rawTotal = rawBlob.length;

type Timings = { br: number[]; raw: number[]; sha64k: number[]; sha4m: number[] };
const browser: Timings = await tab.evaluate(
  async ({ brSizes, rawSizes, rounds }) => {
    type Brotli = { decompress(d: Uint8Array, max: number): Uint8Array | undefined };
    const g = globalThis as unknown as {
      F: { loadBrotli(): Promise<Brotli> };
      fetch(u: string): Promise<{ arrayBuffer(): Promise<ArrayBuffer> }>;
      crypto: { subtle: { digest(a: string, d: Uint8Array): Promise<ArrayBuffer> } };
      performance: { now(): number };
    };
    const split = (blob: Uint8Array, sizes: number[]) => {
      const out: Uint8Array[] = [];
      let at = 0;
      for (const s of sizes) {
        out.push(blob.subarray(at, at + s));
        at += s;
      }
      return out;
    };
    const br = split(new Uint8Array(await (await g.fetch("/br.bin")).arrayBuffer()), brSizes);
    const rawBlob = new Uint8Array(await (await g.fetch("/raw.bin")).arrayBuffer());
    const raw = split(rawBlob, rawSizes);
    const brotli = await g.F.loadBrotli();
    const result = { br: [] as number[], raw: [] as number[], sha64k: [] as number[], sha4m: [] as number[] };
    for (let round = 0; round < rounds; round++) {
      let t = g.performance.now();
      for (let i = 0; i < br.length; i++) {
        const out = brotli.decompress(br[i]!, rawSizes[i]!);
        if (!out || out.length !== rawSizes[i]) throw new Error(`chunk ${i} decoded to ${out?.length}`);
      }
      result.br.push(g.performance.now() - t);
      t = g.performance.now();
      for (const chunk of raw) new Uint8Array(chunk.length).set(chunk);
      result.raw.push(g.performance.now() - t);
      t = g.performance.now();
      for (const chunk of raw) await g.crypto.subtle.digest("SHA-256", chunk);
      result.sha64k.push(g.performance.now() - t);
      t = g.performance.now();
      for (let at = 0; at < rawBlob.length; at += 4 * 1024 * 1024)
        await g.crypto.subtle.digest("SHA-256", rawBlob.subarray(at, at + 4 * 1024 * 1024));
      result.sha4m.push(g.performance.now() - t);
    }
    return result;
  },
  { brSizes, rawSizes, rounds: ROUNDS },
);

const node: Timings = { br: [], raw: [], sha64k: [], sha4m: [] };
for (let round = 0; round < ROUNDS; round++) {
  let t = performance.now();
  for (let i = 0; i < data.br.length; i++)
    if (brotliDecompressSync(data.br[i]!, { maxOutputLength: rawSizes[i]! }).length !== rawSizes[i])
      throw new Error("decode");
  node.br.push(performance.now() - t);
  t = performance.now();
  for (const chunk of data.raw) new Uint8Array(chunk.length).set(chunk);
  node.raw.push(performance.now() - t);
  t = performance.now();
  for (const chunk of data.raw) createHash("sha256").update(chunk).digest();
  node.sha64k.push(performance.now() - t);
  t = performance.now();
  for (let at = 0; at < rawBlob.length; at += 4 * 1024 * 1024)
    createHash("sha256")
      .update(rawBlob.subarray(at, at + 4 * 1024 * 1024))
      .digest();
  node.sha4m.push(performance.now() - t);
}

// --- install and update of one repository ---------------------------------------------------------
const { privatePem, publicText } = generateKeyPair();
const key = parsePrivateKey(privatePem, "bench key");
const pub = parsePublicKey(publicText, "bench pub");
const repo = join(tmp, "repo");
let builds: [string, string, string];
let corpusName: string;
try {
  await Promise.all([stat(join(CORPUS, "v3.0.0")), stat(join(CORPUS, "v3.2.5"))]);
  builds = [join(CORPUS, "v3.0.0"), join(CORPUS, "v3.2.5"), "corpus v3.0.0 → v3.2.5"];
  corpusName = "corpus";
} catch {
  await writeGame(join(tmp, "v1"), sampleGame(1, SCALE));
  await writeGame(join(tmp, "v2"), sampleGame(2, SCALE));
  builds = [join(tmp, "v1"), join(tmp, "v2"), `sample game ×${SCALE} v1 → v2`];
  corpusName = "sample";
}
const nginxConf = await readFile(join(ROOT, "test", "web", "fixtures", "nginx-web.conf"), "utf8");
const nginx = await startNginx(repo, { server: nginxConf });
cleanup.push(() => nginx.close());
const proxy = await startThrottledProxy(nginx.url, { bytesPerTick: 1 << 30, tickMs: 0 });
cleanup.push(() => proxy.close());
const common = { repo, key, expiresInDays: 36500, rootExpiresInDays: 36500 };

async function browserUpdate(): Promise<{ ms: number; bytes: number; version: string }> {
  const before = proxy.bytesSent();
  const result = await tab.evaluate(
    async ({ repoUrl, publicText }) => {
      const g = globalThis as unknown as {
        F: {
          createFerry(
            o: unknown,
          ): Promise<{ update(): Promise<unknown>; status(): Promise<{ version: string } | null> }>;
        };
        performance: { now(): number };
      };
      const t = g.performance.now();
      const ferry = await g.F.createFerry({
        repoUrl,
        trust: { kind: "keys", keys: [publicText], threshold: 1 },
        app: "bench",
      });
      await ferry.update();
      const ms = g.performance.now() - t;
      return { ms, version: (await ferry.status())?.version ?? "none" };
    },
    { repoUrl: proxy.url, publicText },
  );
  return { ...result, bytes: proxy.bytesSent() - before };
}

async function nodeUpdate(installDir: string): Promise<{ ms: number; bytes: number }> {
  const before = proxy.bytesSent();
  const t = performance.now();
  await update({ repoUrl: proxy.url, installDir, trust: [pub] });
  return { ms: performance.now() - t, bytes: proxy.bytesSent() - before };
}

await publish({ ...common, buildDir: builds[0], version: "1.0.0" });
const browserInstall = await browserUpdate();
const nodeInstall = await nodeUpdate(join(tmp, "node-install"));
await publish({ ...common, buildDir: builds[1], version: "2.0.0" });
const browserUpdated = await browserUpdate();
const nodeUpdated = await nodeUpdate(join(tmp, "node-install"));
if (browserUpdated.version !== "2.0.0")
  throw new Error(`the browser runtime ended at ${browserUpdated.version}`);

// --- the table -----------------------------------------------------------------------------------
const agent = await tab.evaluate(
  () => (globalThis as unknown as { navigator: { userAgent: string } }).navigator.userAgent,
);
const version = /Chrome\/([\d.]+)/.exec(agent)?.[1] ?? agent;
const row = (what: string, b: string, n: string, ratio: string) => `| ${what} | ${b} | ${n} | ${ratio} |`;
const rate = (what: string, bytes: number, b: number[], n: number[]) => {
  const bm = mbps(bytes, best(b));
  const nm = mbps(bytes, best(n));
  return row(what, `${bm.toFixed(0)} MB/s`, `${nm.toFixed(0)} MB/s`, `${(bm / nm).toFixed(2)}×`);
};
const wall = (what: string, b: { ms: number; bytes: number }, n: { ms: number; bytes: number }) => [
  row(
    `${what}: wall time`,
    `${(b.ms / 1000).toFixed(2)} s`,
    `${(n.ms / 1000).toFixed(2)} s`,
    `${(b.ms / n.ms).toFixed(2)}×`,
  ),
  row(
    `${what}: bytes downloaded`,
    `${b.bytes.toLocaleString("en")} B`,
    `${n.bytes.toLocaleString("en")} B`,
    `${(b.bytes / n.bytes).toFixed(3)}×`,
  ),
];
const lines = [
  `Chromium ${version} headless vs Node ${process.version}; ${data.raw.length} chunks of 64 KiB (${(rawTotal / 1e6).toFixed(1)} MB, brotli q8 ${(brBlob.length / 1e6).toFixed(1)} MB), best of ${ROUNDS}; repository: ${builds[2]} (${corpusName}) on nginx (HOSTING.md web config) on loopback.`,
  "",
  "| measure | browser runtime | Node | browser / Node |",
  "| --- | --- | --- | --- |",
  rate("decode `br` (brotli-wasm vs zlib), MB of output/s", rawTotal, browser.br, node.br),
  rate("decode `raw` (copy), MB/s", rawTotal, browser.raw, node.raw),
  rate("SHA-256 per 64 KiB chunk (WebCrypto vs node:crypto)", rawTotal, browser.sha64k, node.sha64k),
  rate("SHA-256 per 4 MiB (WebCrypto vs node:crypto)", rawTotal, browser.sha4m, node.sha4m),
  ...wall("first install", browserInstall, nodeInstall),
  ...wall("update", browserUpdated, nodeUpdated),
];
process.stdout.write(`${lines.join("\n")}\n`);

for (const done of cleanup.reverse()) await done().catch(() => undefined);
await rm(tmp, { recursive: true, force: true });
