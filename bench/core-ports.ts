/**
 * Node-path cost of the crypto and codec ports (issue 15 §1): run before and after a change to the core's
 * hashing, chunking or decoding and compare. In-process, median of RUNS runs each:
 * - sha256: 64 KiB chunks over 256 MiB of pseudo-random data;
 * - chunk+hash: the corpus release SPD v3.2.5 (files already in memory), cut and every chunk hashed;
 * - publish: SPD v3.0.0 into a fresh temporary repository;
 * - update: an install of SPD v3.0.0 to v3.2.5 over loopback HTTP (install copied fresh per run).
 * Hashing goes through the crypto port (await nodeCrypto.sha256); the baseline before the port (commit
 * "bench/core-ports: Node-path baseline") called the core's synchronous sha256 in the same loops.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/core-ports.js
 *   FERRY_BENCH_RUNS=7 node dist/bench/core-ports.js
 */
import { cp, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { Chunker } from "../src/core/chunker.js";
import {
  generateKeyPair,
  parsePrivateKey,
  parsePublicKey,
  publish,
  serveRepository,
  update,
} from "../src/index.js";
import { nodeCrypto } from "../src/node/node-crypto.js";
import { listTree } from "./peer-tools.js";

const RUNS = Number(process.env.FERRY_BENCH_RUNS ?? "7");
const CORPUS = resolve(process.cwd(), process.env.FERRY_CORPUS ?? "../shared/corpus/shattered-pixel-dungeon");
const V1 = join(CORPUS, "v3.0.0");
const V2 = join(CORPUS, "v3.2.5");

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** `body` may return its own time (to leave set-up out); otherwise the whole call is timed. */
async function timed(
  label: string,
  runs: number,
  body: (run: number) => Promise<number | void>,
): Promise<number> {
  const ms: number[] = [];
  for (let run = 0; run < runs; run++) {
    const start = performance.now();
    const own = await body(run);
    ms.push(typeof own === "number" ? own : performance.now() - start);
  }
  const m = median(ms);
  process.stderr.write(`${label}: ${ms.map((v) => v.toFixed(0)).join(" ")} ms, median ${m.toFixed(1)}\n`);
  return m;
}

/** Deterministic pseudo-random bytes (xorshift32), so both sides of a comparison hash the same input. */
function noise(size: number): Uint8Array {
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let x = 0x9e3779b9;
  for (let i = 0; i + 4 <= size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    view.setUint32(i, x >>> 0);
  }
  return out;
}

async function main(): Promise<void> {
  const rows: [string, string][] = [];
  const CHUNK = 64 * 1024;
  const data = noise(64 * 1024 * 1024);
  const total = 256 * 1024 * 1024;
  const hashMs = await timed("sha256 64 KiB x 256 MiB", RUNS, async () => {
    for (let done = 0; done < total; done += CHUNK) {
      const offset = done % data.length;
      await nodeCrypto.sha256(data.subarray(offset, offset + CHUNK));
    }
  });
  rows.push([
    "sha256, 64 KiB chunks over 256 MiB",
    `${hashMs.toFixed(0)} ms (${(total / 1048576 / (hashMs / 1000)).toFixed(0)} MiB/s)`,
  ]);

  const files = await Promise.all((await listTree(V2)).map((p) => readFile(join(V2, p))));
  const corpusBytes = files.reduce((sum, f) => sum + f.length, 0);
  let chunks = 0;
  const chunkMs = await timed("chunk+hash SPD v3.2.5", RUNS, async () => {
    chunks = 0;
    for (const file of files) {
      const chunker = new Chunker();
      for (const chunk of [...chunker.push(file), ...chunker.finish()]) {
        await nodeCrypto.sha256(chunk);
        chunks++;
      }
    }
  });
  rows.push([
    `chunk+hash SPD v3.2.5 (${(corpusBytes / 1048576).toFixed(1)} MiB, ${chunks} chunks)`,
    `${chunkMs.toFixed(0)} ms`,
  ]);

  const tmp = await mkdtemp(join(tmpdir(), "ferry-core-ports-"));
  const keys = generateKeyPair();
  const key = parsePrivateKey(keys.privatePem, "bench key");
  const trust = [parsePublicKey(keys.publicText, "bench public key")];
  let server: { url: string; close(): Promise<void> } | undefined;
  try {
    const publishMs = await timed("publish SPD v3.0.0", RUNS, async (run) => {
      await publish({ buildDir: V1, repo: join(tmp, `publish-${run}`), version: "3.0.0", key });
    });
    rows.push(["publish SPD v3.0.0 (fresh repository)", `${publishMs.toFixed(0)} ms`]);

    const serverRoot = join(tmp, "served");
    const repo = join(serverRoot, "repo");
    await mkdir(serverRoot, { recursive: true });
    server = await serveRepository({ root: serverRoot, host: "127.0.0.1" });
    const repoUrl = new URL("repo/", server.url).href;
    await publish({ buildDir: V1, repo, version: "3.0.0", key });
    const template = join(tmp, "install-v1");
    await update({ repoUrl, installDir: template, trust });
    await publish({ buildDir: V2, repo, version: "3.2.5", key });
    const updateMs = await timed("update SPD v3.0.0 -> v3.2.5", RUNS, async (run) => {
      const installDir = join(tmp, `install-${run}`);
      await cp(template, installDir, { recursive: true });
      const start = performance.now();
      await update({ repoUrl, installDir, trust });
      return performance.now() - start;
    });
    rows.push(["update SPD v3.0.0 -> v3.2.5 over loopback", `${updateMs.toFixed(0)} ms`]);
  } finally {
    await server?.close();
    await rm(tmp, { recursive: true, force: true });
  }
  process.stdout.write(`| measure (median of ${RUNS}) | time |\n|---|---:|\n`);
  for (const [label, value] of rows) process.stdout.write(`| ${label} | ${value} |\n`);
}

await main();
