/**
 * A small measurement of the browser runtime's brotli decoder (brotli-wasm) in headless Chromium,
 * beside Node's zlib on the same machine and data: 16 chunks of 1 MiB of game-like text and bytes,
 * brotli quality 9 as the publisher writes them. Prints MB/s of decoded output and the ratio.
 * Run: `npm run build && node dist/scripts/build-web.js && node dist/test/web/brotli-speed.js`.
 * (The full benchmark table is test/web/bench-web.ts.)
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { brotliCompressSync, brotliDecompressSync, constants } from "node:zlib";
import { chromium } from "playwright-core";
import { pseudoRandom, sampleGame } from "../../src/testing/game-fixture.js";

const CHUNK = 1024 * 1024;
const COUNT = 16;

function chunks(): Buffer[] {
  const text = Buffer.concat([...sampleGame(1, 4).values()].map((f) => f.data));
  const out: Buffer[] = [];
  for (let i = 0; i < COUNT; i++) {
    const raw = Buffer.alloc(CHUNK);
    // Three quarters text (compressible), one quarter random bytes (textures, audio).
    for (let at = 0; at < (CHUNK * 3) / 4; at += text.length)
      text.copy(raw, at, 0, Math.min(text.length, (CHUNK * 3) / 4 - at));
    pseudoRandom(`chunk-${i}`, CHUNK / 4).copy(raw, (CHUNK * 3) / 4);
    out.push(brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 9 } }));
  }
  return out;
}

const encoded = chunks();
const root = join(import.meta.dirname, "..", "..", "web");
const server = createServer((req, res) => {
  if (req.url === "/ferry-web.js") {
    void readFile(join(root, "ferry-web.js")).then((js) =>
      res.writeHead(200, { "content-type": "text/javascript" }).end(js),
    );
  } else if (req.url === "/data") {
    res
      .writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify(encoded.map((b) => b.toString("base64"))));
  } else res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>brotli</title>");
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
const browser = await chromium.launch({ executablePath: process.env.FERRY_CHROMIUM ?? "/usr/bin/chromium" });
const page = await browser.newPage();
await page.goto(base);
const rounds = 3;
const browserMs = await page.evaluate(
  async ({ rounds, size }) => {
    const mod = (await import("/ferry-web.js" as string)) as {
      loadBrotli(): Promise<{ decompress(d: Uint8Array, cap: number): Uint8Array | undefined }>;
    };
    const brotli = await mod.loadBrotli();
    const data = ((await (await fetch("/data")).json()) as string[]).map((b64) =>
      Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)),
    );
    for (const d of data) brotli.decompress(d, size); // warm-up
    const start = performance.now();
    for (let r = 0; r < rounds; r++)
      for (const d of data) if (brotli.decompress(d, size)?.length !== size) throw new Error("bad decode");
    return performance.now() - start;
  },
  { rounds, size: CHUNK },
);
await browser.close();
server.close();
for (const d of encoded) brotliDecompressSync(d);
const start = performance.now();
for (let r = 0; r < rounds; r++) for (const d of encoded) brotliDecompressSync(d);
const nodeMs = performance.now() - start;
const mb = (rounds * COUNT * CHUNK) / 1e6;
const compressed = encoded.reduce((s, b) => s + b.length, 0);
process.stdout.write(
  `brotli decode, ${COUNT} x 1 MiB chunks (${compressed} B compressed), ${rounds} rounds\n` +
    `Chromium brotli-wasm: ${(mb / (browserMs / 1000)).toFixed(1)} MB/s\n` +
    `Node zlib (same data): ${(mb / (nodeMs / 1000)).toFixed(1)} MB/s\n` +
    `ratio wasm/node: ${(nodeMs / browserMs).toFixed(2)}\n`,
);
