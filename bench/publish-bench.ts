/**
 * Publisher benchmark (issue 16, "Publishing wastes work"): wall time and peak RSS of a cold publish and of
 * a republish after a small change, beside `casync make` of the same tree in the same run (metadata that
 * Ferry does not publish is switched off: `--without=all --with=permissions --with=symlinks`, so no
 * mtimes). Ferry runs in a child process (bench/run-worker.ts) so its peak RSS is its own; casync runs
 * under /usr/bin/time for its peak RSS.
 *
 *   npm run bench:publish
 *   FERRY_PUBLISH_BENCH_FILES=100000 FERRY_PUBLISH_BENCH_RANDOM_MIB=256 node dist/bench/publish-bench.js
 *   FERRY_PUBLISH_BENCH_ONLY=generated,random node dist/bench/publish-bench.js
 *
 * Trees: OpenRCT2 objects v1.7.10 and Shattered Pixel Dungeon v3.2.5 (../shared/corpus), a generated
 * tree of FERRY_PUBLISH_BENCH_FILES files (default 20,000; 70 % text, 30 % incompressible, 100 B-12 KiB),
 * and one incompressible file of FERRY_PUBLISH_BENCH_RANDOM_MIB MiB (default 64). The small change: one
 * file edited in the middle and one file added. Everything runs under os.tmpdir() and is removed.
 * Prints a Markdown table (ratios = Ferry / casync, same tree, same run).
 */
import { spawnSync } from "node:child_process";
import { createHash, createCipheriv } from "node:crypto";
import { appendFile, cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateKeyPair, type PublishResult } from "../src/index.js";
import { seededRandom } from "../src/testing/random.js";
import { runWorker } from "./run-worker.js";

const REPO_ROOT = join(fileURLToPath(import.meta.url), "..", "..", "..");
const CORPUS = join(REPO_ROOT, "..", "shared", "corpus");
const FILES = positive("FERRY_PUBLISH_BENCH_FILES", 20_000);
const RANDOM_MIB = positive("FERRY_PUBLISH_BENCH_RANDOM_MIB", 64);
const ONLY = (process.env.FERRY_PUBLISH_BENCH_ONLY ?? "").split(",").filter((s) => s !== "");
const CASYNC_FEATURES = ["--without=all", "--with=permissions", "--with=symlinks"];

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return n;
}

interface Case {
  readonly key: string;
  readonly what: string;
  /** Builds the tree into `dir` and returns the path of the file the small change edits. */
  readonly make: (dir: string) => Promise<string>;
}

function prngBytes(seed: string, length: number): Buffer {
  const key = createHash("sha256").update(seed).digest();
  return createCipheriv("aes-128-ctr", key.subarray(0, 16), key.subarray(16, 32)).update(
    Buffer.alloc(length),
  );
}

const WORDS = "sprite ride scenery track vehicle colour price height wall path queue station entrance".split(
  " ",
);

function text(random: () => number, size: number): Buffer {
  let s = "{\n";
  while (s.length < size) {
    const w = WORDS[Math.floor(random() * WORDS.length)] ?? "x";
    s += `  "${w}_${Math.floor(random() * 1000)}": ${Math.floor(random() * 1e6)},\n`;
  }
  return Buffer.from(s.slice(0, size));
}

async function copyCorpus(from: string, dir: string): Promise<void> {
  await cp(from, dir, { recursive: true, preserveTimestamps: true });
}

async function largestFile(dir: string): Promise<string> {
  const { readdir } = await import("node:fs/promises");
  let best = { path: "", size: -1 };
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    const { size } = await stat(path);
    if (size > best.size) best = { path, size };
  }
  return best.path;
}

const CASES: readonly Case[] = [
  {
    key: "openrct2",
    what: "OpenRCT2 objects v1.7.10",
    make: async (dir) => {
      await copyCorpus(join(CORPUS, "openrct2-objects", "v1.7.10"), dir);
      return largestFile(dir);
    },
  },
  {
    key: "spd",
    what: "Shattered Pixel Dungeon v3.2.5",
    make: async (dir) => {
      await copyCorpus(join(CORPUS, "shattered-pixel-dungeon", "v3.2.5"), dir);
      return largestFile(dir);
    },
  },
  {
    key: "generated",
    what: `generated, ${FILES} files`,
    make: async (dir) => {
      const random = seededRandom(20261202);
      let first = "";
      for (let i = 0; i < FILES; i++) {
        const binary = random() < 0.3;
        const size = 100 + Math.floor(random() * (binary ? 12 * 1024 : 8 * 1024));
        const path = join(
          dir,
          `d${i % 50}`,
          `s${Math.floor(i / 50) % 20}`,
          `f${i}.${binary ? "bin" : "json"}`,
        );
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, binary ? prngBytes(`g${i}`, size) : text(random, size));
        if (i === 0) first = path;
      }
      return first;
    },
  },
  {
    key: "random",
    what: `one incompressible file, ${RANDOM_MIB} MiB`,
    make: async (dir) => {
      const path = join(dir, "data.bin");
      await mkdir(dir, { recursive: true });
      for (let i = 0; i < RANDOM_MIB; i++) await appendFile(path, prngBytes(`r${i}`, 1024 * 1024));
      return path;
    },
  },
];

/** The small change: 100 bytes inserted in the middle of `path`, and one new file. */
async function smallChange(tree: string, path: string): Promise<void> {
  const data = await readFile(path);
  const at = data.length >> 1;
  await writeFile(path, Buffer.concat([data.subarray(0, at), prngBytes("edit", 100), data.subarray(at)]));
  await writeFile(join(tree, "added-by-bench.txt"), text(seededRandom(7), 3000));
}

interface Timed {
  readonly seconds: number;
  readonly rssMiB: number;
}

function casyncMake(tree: string, out: string): Timed {
  mkdirSync(out, { recursive: true });
  const start = process.hrtime.bigint();
  const r = spawnSync(
    "/usr/bin/time",
    [
      "-f",
      "%M",
      "casync",
      "make",
      ...CASYNC_FEATURES,
      `--store=${join(out, "store.castr")}`,
      join(out, "t.caidx"),
      tree,
    ],
    { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0) throw new Error(`casync make exited ${r.status ?? r.signal}: ${r.stderr.slice(-600)}`);
  const kib = Number(r.stderr.trim().split("\n").at(-1));
  return { seconds, rssMiB: kib / 1024 };
}

interface Row {
  readonly what: string;
  readonly files: number;
  readonly bytes: number;
  readonly cold: Timed;
  readonly again: Timed;
  readonly casyncCold: Timed;
  readonly casyncAgain: Timed;
  readonly storedBytes: number;
  readonly layout: string;
}

async function measure(c: Case, scratch: string): Promise<Row> {
  const keys = generateKeyPair();
  const tree = join(scratch, "tree");
  const edited = await c.make(tree);
  const repo = join(scratch, "repo");
  const cacheDir = join(scratch, "cache");
  const job = (version: string) =>
    ({ op: "publish", buildDir: tree, repo, version, privatePem: keys.privatePem, cacheDir }) as const;
  spawnSync("sync");
  const cold = await runWorker<PublishResult>(job("1.0.0"));
  const casyncCold = casyncMake(tree, join(scratch, "casync"));
  await smallChange(tree, edited);
  spawnSync("sync");
  const again = await runWorker<PublishResult>(job("1.0.1"));
  // casync has no cache of its own by default: a second make into the same store re-reads everything.
  const casyncAgain = casyncMake(tree, join(scratch, "casync"));
  return {
    what: c.what,
    files: cold.result.files,
    bytes: cold.result.bytes,
    cold,
    again,
    casyncCold,
    casyncAgain,
    storedBytes: cold.result.storedBytes,
    layout: cold.result.layout,
  };
}

const f1 = (n: number): string => n.toFixed(1);
const f2 = (n: number): string => n.toFixed(2);

function table(rows: readonly Row[]): string {
  const lines = [
    "| tree | files | MB | cold publish s (RSS MiB) | casync make s (RSS MiB) | cold ratio | republish s (RSS MiB) | casync again s | republish ratio | layout | stored MB |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.what} | ${r.files} | ${f1(r.bytes / 1e6)} | ${f2(r.cold.seconds)} (${f1(r.cold.rssMiB)}) | ` +
        `${f2(r.casyncCold.seconds)} (${f1(r.casyncCold.rssMiB)}) | ${f2(r.cold.seconds / r.casyncCold.seconds)}× | ` +
        `${f2(r.again.seconds)} (${f1(r.again.rssMiB)}) | ${f2(r.casyncAgain.seconds)} | ` +
        `${f2(r.again.seconds / r.casyncAgain.seconds)}× | ${r.layout} | ${f2(r.storedBytes / 1e6)} |`,
    );
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  const has = spawnSync("sh", ["-c", "command -v casync"], { stdio: "ignore" }).status === 0;
  if (!has) throw new Error("casync is not installed: apt-get install casync");
  const rows: Row[] = [];
  for (const c of CASES) {
    if (ONLY.length > 0 && !ONLY.includes(c.key)) continue;
    const scratch = await mkdtemp(join(tmpdir(), `ferry-publish-bench-${c.key}-`));
    try {
      process.stderr.write(`publish-bench: ${c.what}\n`);
      rows.push(await measure(c, scratch));
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }
  const casync = spawnSync("casync", ["--version"], { encoding: "utf8" }).stdout.trim();
  process.stdout.write(
    `${table(rows)}\n\nOne run per figure, ${new Date().toISOString()}, node ${process.version}, ${casync}; ` +
      `casync ${CASYNC_FEATURES.join(" ")}. Wall time of the library call (Ferry, in a child process) and of ` +
      `the casync process; peak RSS of each process.\n`,
  );
}

await main();
