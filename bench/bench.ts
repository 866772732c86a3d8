/**
 * Ferry benchmark: publish, fresh install and update over loopback HTTP, each library call in its own
 * child process (so its peak RSS is its own), with baselines measured in the same run on the same machine.
 *
 *   npm run bench:ferry
 *   FERRY_BENCH_SCALE=4 FERRY_BENCH_CHUNKS=1 node dist/bench/bench.js
 *
 * Scenarios: (a) generated content sampleGame(1, scale) -> sampleGame(2, scale); (b) the real corpus
 * ../shared/corpus/shattered-pixel-dungeon/v3.0.0 -> v3.2.5 (resolved from the working directory; skipped
 * when absent). Everything is written under os.tmpdir() and removed at the end; nothing is written into
 * the repository. Results are printed only.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join, relative, resolve, sep } from "node:path";
import { performance } from "node:perf_hooks";
import { brotliCompressSync, gzipSync, constants as zlibConstants } from "node:zlib";
import {
  type ChunkingParams,
  DEFAULT_CHUNKING,
  generateKeyPair,
  type PublishResult,
  serveRepository,
  type UpdateSummary,
} from "../src/index.js";
import { sampleGame, writeGame } from "../src/testing/game-fixture.js";
import { listTree } from "./peer-tools.js";
import { type Measured, runWorker, WorkerError } from "./run-worker.js";

// ---------------------------------------------------------------------------------------------------------
// Configuration

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1)
    throw new Error(`${name} must be a positive integer, got ${raw}`);
  return value;
}

const SCALE = intEnv("FERRY_BENCH_SCALE", 4);
const CHUNK_STUDY = (process.env.FERRY_BENCH_CHUNKS ?? "1") !== "0";
const CORPUS_ROOT = resolve(process.cwd(), "../shared/corpus/shattered-pixel-dungeon");
const CORPUS_V1 = join(CORPUS_ROOT, "v3.0.0");
const CORPUS_V2 = join(CORPUS_ROOT, "v3.2.5");
const STUDY_AVERAGES = [8 * 1024, 16 * 1024, 64 * 1024];

// ---------------------------------------------------------------------------------------------------------
// Trees and baselines

interface TreeFile {
  readonly size: number;
  readonly sha256: string;
  /** Whole-file brotli quality 9 size. */
  readonly br: number;
  /** Whole-file gzip level 9 size. */
  readonly gz: number;
}

interface Tree {
  readonly files: Map<string, TreeFile>;
  readonly bytes: number;
}

/** Absolute paths of every regular file under root, sorted by release path. */
async function listFiles(root: string): Promise<string[]> {
  return (await listTree(root)).map((p) => join(root, p));
}

function releasePath(root: string, file: string): string {
  return relative(root, file).split(sep).join("/");
}

/** Hashes and compresses every file of a tree whole (the "per-file" baselines). Not timed. */
async function describeTree(root: string): Promise<Tree> {
  const files = new Map<string, TreeFile>();
  let bytes = 0;
  for (const file of await listFiles(root)) {
    const data = await readFile(file);
    bytes += data.length;
    files.set(releasePath(root, file), {
      size: data.length,
      sha256: createHash("sha256").update(data).digest("hex"),
      br: brotliCompressSync(data, {
        params: {
          [zlibConstants.BROTLI_PARAM_QUALITY]: 9,
          [zlibConstants.BROTLI_PARAM_SIZE_HINT]: data.length,
        },
      }).length,
      gz: gzipSync(data, { level: 9 }).length,
    });
  }
  return { files, bytes };
}

interface Diff {
  /** Files of v2 that are new or whose bytes differ from v1. */
  readonly changed: number;
  readonly changedBytes: number;
  readonly changedBr: number;
  readonly changedGz: number;
  /** Files of v1 absent from v2. */
  readonly removed: number;
}

function diffTrees(v1: Tree, v2: Tree): Diff {
  let changed = 0;
  let changedBytes = 0;
  let changedBr = 0;
  let changedGz = 0;
  for (const [path, file] of v2.files) {
    if (v1.files.get(path)?.sha256 === file.sha256) continue;
    changed++;
    changedBytes += file.size;
    changedBr += file.br;
    changedGz += file.gz;
  }
  let removed = 0;
  for (const path of v1.files.keys()) if (!v2.files.has(path)) removed++;
  return { changed, changedBytes, changedBr, changedGz, removed };
}

const sum = (tree: Tree, key: "br" | "gz"): number => {
  let total = 0;
  for (const file of tree.files.values()) total += file[key];
  return total;
};

/** Seconds to read and SHA-256 every file of a tree, streaming with 1 MiB reads as publish does. */
async function timeHashOnly(root: string): Promise<number> {
  const files = await listFiles(root);
  const start = performance.now();
  for (const file of files) {
    const hash = createHash("sha256");
    for await (const block of createReadStream(file, { highWaterMark: 1024 * 1024 }))
      hash.update(block as Buffer);
    hash.digest();
  }
  return (performance.now() - start) / 1000;
}

/** Seconds for fs.cp of a whole tree into a fresh directory. */
async function timeCopy(root: string, scratch: string): Promise<number> {
  const dest = join(scratch, `cp-${process.hrtime.bigint()}`);
  const start = performance.now();
  await cp(root, dest, { recursive: true });
  const seconds = (performance.now() - start) / 1000;
  await rm(dest, { recursive: true, force: true });
  return seconds;
}

async function directoryBytes(root: string): Promise<number> {
  let total = 0;
  for (const file of await listFiles(root)) total += (await stat(file)).size;
  return total;
}

/** Checks an install holds exactly the files of `tree` (ignoring Ferry's own .ferry directory). */
async function checkInstall(installDir: string, tree: Tree): Promise<void> {
  const seen = new Set<string>();
  for (const file of await listFiles(installDir)) {
    const path = releasePath(installDir, file);
    if (path === ".ferry" || path.startsWith(".ferry/")) continue;
    seen.add(path);
    const expected = tree.files.get(path);
    if (!expected) throw new Error(`install check: unexpected file ${path} in ${installDir}`);
    const actual = createHash("sha256")
      .update(await readFile(file))
      .digest("hex");
    if (actual !== expected.sha256) throw new Error(`install check: ${path} differs from the release`);
  }
  for (const path of tree.files.keys()) {
    if (!seen.has(path)) throw new Error(`install check: ${path} is missing from ${installDir}`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Scenarios

interface Keys {
  readonly privatePem: string;
  readonly publicText: string;
}

interface Env {
  readonly tmp: string;
  readonly serverRoot: string;
  readonly url: string;
  readonly keys: Keys;
}

interface Run {
  readonly publish1: Measured<PublishResult>;
  readonly install1: Measured<UpdateSummary>;
  readonly publish2: Measured<PublishResult>;
  readonly update2: Measured<UpdateSummary>;
  readonly repoBytes: number;
}

let runCounter = 0;

/** Fresh repo: publish v1, fresh-install v1, publish v2, update v1 -> v2; each step in a child process. */
async function runFerry(
  env: Env,
  name: string,
  v1: string,
  v2: string,
  v1Tree: Tree,
  v2Tree: Tree,
  chunking?: ChunkingParams,
): Promise<Run> {
  const id = `${name}-${++runCounter}`;
  const repo = join(env.serverRoot, id);
  const installDir = join(env.tmp, "installs", id);
  await mkdir(repo, { recursive: true });
  const repoUrl = `${env.url}${id}/`;
  const base = { repo, privatePem: env.keys.privatePem, ...(chunking ? { chunking } : {}) };
  const client = { repoUrl, installDir, publicText: env.keys.publicText };
  try {
    // The channel pointer moves on every publish, so v1 is installed before v2 is published.
    const publish1 = await runWorker<PublishResult>({
      op: "publish",
      buildDir: v1,
      version: "1.0.0",
      ...base,
    });
    const install1 = await runWorker<UpdateSummary>({ op: "update", ...client });
    await checkInstall(installDir, v1Tree);
    const publish2 = await runWorker<PublishResult>({
      op: "publish",
      buildDir: v2,
      version: "2.0.0",
      ...base,
    });
    const update2 = await runWorker<UpdateSummary>({ op: "update", ...client });
    await checkInstall(installDir, v2Tree);
    return { publish1, install1, publish2, update2, repoBytes: await directoryBytes(repo) };
  } finally {
    await rm(installDir, { recursive: true, force: true });
    await rm(repo, { recursive: true, force: true });
  }
}

interface Baselines {
  readonly v1: Tree;
  readonly v2: Tree;
  readonly diff: Diff;
  readonly hash1: number;
  readonly hash2: number;
  readonly copy1: number;
  readonly copy2: number;
}

async function measureBaselines(env: Env, v1: string, v2: string): Promise<Baselines> {
  const v1Tree = await describeTree(v1);
  const v2Tree = await describeTree(v2);
  const scratch = join(env.tmp, "copies");
  await mkdir(scratch, { recursive: true });
  return {
    v1: v1Tree,
    v2: v2Tree,
    diff: diffTrees(v1Tree, v2Tree),
    hash1: await timeHashOnly(v1),
    hash2: await timeHashOnly(v2),
    copy1: await timeCopy(v1, scratch),
    copy2: await timeCopy(v2, scratch),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Formatting

const int = (n: number): string => Math.round(n).toLocaleString("en-US");
const bytes = (n: number): string => `${int(n)} B`;
const mbps = (byteCount: number, seconds: number): number => byteCount / 1e6 / seconds;
const fixed = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");
const ratio = (a: number, b: number): string =>
  b === 0 ? "n/a" : `${(a / b).toFixed(a / b < 0.1 ? 3 : 2)}×`;

type Row = readonly [scenario: string, metric: string, ferry: string, baseline: string, ratio: string];

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const lines = [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`];
  for (const row of rows) lines.push(`| ${row.join(" | ")} |`);
  return lines.join("\n");
}

function scenarioRows(label: string, b: Baselines, run: Run, idleMiB: number): Row[] {
  const { publish1, install1, publish2, update2 } = run;
  const u = update2.result;
  const i = install1.result;
  const fullBr2 = sum(b.v2, "br");
  const fullBr1 = sum(b.v1, "br");
  const fullGz1 = sum(b.v1, "gz");
  const updMBs = mbps(b.v2.bytes, update2.seconds);
  const cpMBs2 = mbps(b.v2.bytes, b.copy2);
  const insMBs = mbps(b.v1.bytes, install1.seconds);
  const cpMBs1 = mbps(b.v1.bytes, b.copy1);
  const pub1MBs = mbps(b.v1.bytes, publish1.seconds);
  const hash1MBs = mbps(b.v1.bytes, b.hash1);
  const pub2MBs = mbps(b.v2.bytes, publish2.seconds);
  const hash2MBs = mbps(b.v2.bytes, b.hash2);
  const naiveRequests = b.diff.changed + 1;
  return [
    [
      label,
      "update: bytes downloaded",
      bytes(u.bytesDownloaded),
      `changed files brotli q9: ${bytes(b.diff.changedBr)}`,
      ratio(u.bytesDownloaded, b.diff.changedBr),
    ],
    [
      label,
      "update: bytes downloaded",
      bytes(u.bytesDownloaded),
      `changed files gzip -9: ${bytes(b.diff.changedGz)}`,
      ratio(u.bytesDownloaded, b.diff.changedGz),
    ],
    [
      label,
      "update: bytes downloaded",
      bytes(u.bytesDownloaded),
      `full v2 brotli q9: ${bytes(fullBr2)}`,
      ratio(u.bytesDownloaded, fullBr2),
    ],
    [
      label,
      "update: metadata bytes (pointer + manifest, incl. above)",
      bytes(u.metadataBytes),
      `share of bytes downloaded`,
      ratio(u.metadataBytes, u.bytesDownloaded),
    ],
    [
      label,
      "update: HTTP requests",
      int(u.requests),
      `per-file GETs + 1: ${int(naiveRequests)}`,
      ratio(u.requests, naiveRequests),
    ],
    [
      label,
      "update: files written",
      int(u.filesWritten),
      `new or changed in v2: ${int(b.diff.changed)}`,
      ratio(u.filesWritten, b.diff.changed),
    ],
    [
      label,
      "update: files deleted",
      int(u.filesDeleted),
      `removed in v2: ${int(b.diff.removed)}`,
      b.diff.removed === 0 ? (u.filesDeleted === 0 ? "=" : "n/a") : ratio(u.filesDeleted, b.diff.removed),
    ],
    [
      label,
      "update: wall time",
      `${fixed(update2.seconds, 3)} s`,
      `fs.cp v2 tree: ${fixed(b.copy2, 3)} s`,
      ratio(update2.seconds, b.copy2),
    ],
    [
      label,
      "update: MB/s (v2 size / update s)",
      fixed(updMBs, 1),
      `fs.cp v2 tree: ${fixed(cpMBs2, 1)}`,
      ratio(updMBs, cpMBs2),
    ],
    [
      label,
      "update: peak RSS of child (MiB)",
      fixed(update2.rssMiB, 1),
      `idle node child: ${fixed(idleMiB, 1)}`,
      ratio(update2.rssMiB, idleMiB),
    ],
    [
      label,
      "fresh install v1: bytes downloaded",
      bytes(i.bytesDownloaded),
      `full v1 brotli q9: ${bytes(fullBr1)}`,
      ratio(i.bytesDownloaded, fullBr1),
    ],
    [
      label,
      "fresh install v1: bytes downloaded",
      bytes(i.bytesDownloaded),
      `full v1 gzip -9: ${bytes(fullGz1)}`,
      ratio(i.bytesDownloaded, fullGz1),
    ],
    [
      label,
      "fresh install v1: HTTP requests",
      int(i.requests),
      `per-file GETs + 1: ${int(b.v1.files.size + 1)}`,
      ratio(i.requests, b.v1.files.size + 1),
    ],
    [
      label,
      "fresh install v1: MB/s (v1 size / s)",
      fixed(insMBs, 1),
      `fs.cp v1 tree: ${fixed(cpMBs1, 1)}`,
      ratio(insMBs, cpMBs1),
    ],
    [
      label,
      "fresh install v1: peak RSS of child (MiB)",
      fixed(install1.rssMiB, 1),
      `idle node child: ${fixed(idleMiB, 1)}`,
      ratio(install1.rssMiB, idleMiB),
    ],
    [
      label,
      "publish v1 (cold repo): MB/s of input",
      fixed(pub1MBs, 1),
      `read+sha256 v1: ${fixed(hash1MBs, 1)}`,
      ratio(pub1MBs, hash1MBs),
    ],
    [
      label,
      "publish v2 (incremental): MB/s of input",
      fixed(pub2MBs, 1),
      `read+sha256 v2: ${fixed(hash2MBs, 1)}`,
      ratio(pub2MBs, hash2MBs),
    ],
    [
      label,
      "publish v1: peak RSS of child (MiB)",
      fixed(publish1.rssMiB, 1),
      `idle node child: ${fixed(idleMiB, 1)}`,
      ratio(publish1.rssMiB, idleMiB),
    ],
    [
      label,
      "publish v2: peak RSS of child (MiB)",
      fixed(publish2.rssMiB, 1),
      `idle node child: ${fixed(idleMiB, 1)}`,
      ratio(publish2.rssMiB, idleMiB),
    ],
    [
      label,
      "repo size after v2 (all objects)",
      bytes(run.repoBytes),
      `v1 brotli + changed brotli: ${bytes(fullBr1 + b.diff.changedBr)}`,
      ratio(run.repoBytes, fullBr1 + b.diff.changedBr),
    ],
    [
      label,
      "v2 manifest bytes (brotli)",
      bytes(publish2.result.manifestBytes),
      `v2 chunks: ${int(publish2.result.chunks)}`,
      "—",
    ],
  ];
}

// ---------------------------------------------------------------------------------------------------------
// Main

interface Scenario {
  readonly key: string;
  readonly label: string;
  readonly v1: string;
  readonly v2: string;
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const tmp = await mkdtemp(join(tmpdir(), "ferry-bench-"));
  const output: string[] = [];
  const errors: string[] = [];
  const log = (line: string): void => {
    process.stderr.write(`[bench ${fixed((performance.now() - started) / 1000, 1)}s] ${line}\n`);
  };
  let server: { url: string; close(): Promise<void> } | undefined;
  const onSignal = (): void => {
    void rm(tmp, { recursive: true, force: true }).finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const serverRoot = join(tmp, "repos");
    await mkdir(serverRoot, { recursive: true });
    server = await serveRepository({ root: serverRoot, host: "127.0.0.1" });
    if (!new URL(server.url).hostname.startsWith("127."))
      throw new Error(`server is not on loopback: ${server.url}`);
    const keys = generateKeyPair();
    const env: Env = { tmp, serverRoot, url: server.url, keys };
    log(`server ${server.url}, temp ${tmp}`);

    const scenarios: Scenario[] = [];
    const genV1 = join(tmp, "generated", "v1");
    const genV2 = join(tmp, "generated", "v2");
    await writeGame(genV1, sampleGame(1, SCALE));
    await writeGame(genV2, sampleGame(2, SCALE));
    scenarios.push({ key: "generated", label: `(a) sampleGame ×${SCALE}`, v1: genV1, v2: genV2 });
    if ((await exists(CORPUS_V1)) && (await exists(CORPUS_V2))) {
      scenarios.push({ key: "corpus", label: "(b) SPD v3.0.0→v3.2.5", v1: CORPUS_V1, v2: CORPUS_V2 });
    } else {
      output.push(`Scenario (b) skipped: corpus not found at ${CORPUS_V1} and ${CORPUS_V2}.`);
      log(`corpus absent at ${CORPUS_ROOT}: scenario (b) skipped`);
    }

    const idle = await runWorker<null>({ op: "idle" });
    const rows: Row[] = [];
    const inputs: string[][] = [];
    const study: string[][] = [];
    for (const scenario of scenarios) {
      try {
        log(`${scenario.key}: baselines`);
        const b = await measureBaselines(env, scenario.v1, scenario.v2);
        inputs.push([
          scenario.label,
          `${bytes(b.v1.bytes)} (${int(b.v1.files.size)} files)`,
          `${bytes(b.v2.bytes)} (${int(b.v2.files.size)} files)`,
          `${int(b.diff.changed)} files, ${bytes(b.diff.changedBytes)}`,
          int(b.diff.removed),
        ]);
        log(`${scenario.key}: publish v1, install v1, publish v2, update`);
        const run = await runFerry(env, scenario.key, scenario.v1, scenario.v2, b.v1, b.v2);
        rows.push(...scenarioRows(scenario.label, b, run, idle.rssMiB));
        if (scenario.key === "corpus" && CHUNK_STUDY) {
          for (const avg of STUDY_AVERAGES) {
            const chunking: ChunkingParams = {
              algorithm: "fastcdc-gear32-v1",
              min: avg / 4,
              avg,
              max: avg * 4,
            };
            const isDefault =
              chunking.min === DEFAULT_CHUNKING.min &&
              chunking.avg === DEFAULT_CHUNKING.avg &&
              chunking.max === DEFAULT_CHUNKING.max;
            // The default parameters were just measured by the main run: reuse it rather than repeat it.
            if (!isDefault) log(`${scenario.key}: chunk study avg ${avg / 1024} KiB`);
            const r = isDefault
              ? run
              : await runFerry(
                  env,
                  `${scenario.key}-cdc${avg / 1024}k`,
                  scenario.v1,
                  scenario.v2,
                  b.v1,
                  b.v2,
                  chunking,
                );
            study.push([
              `${avg / 1024} KiB${isDefault ? " (default, main run)" : ""}`,
              `${int(chunking.min)} / ${int(chunking.max)}`,
              int(r.publish2.result.chunks),
              bytes(r.publish2.result.manifestBytes),
              bytes(r.update2.result.bytesDownloaded),
              ratio(r.update2.result.bytesDownloaded, b.diff.changedBr),
              bytes(r.update2.result.metadataBytes),
              int(r.update2.result.requests),
              bytes(r.install1.result.bytesDownloaded),
              bytes(r.repoBytes),
              fixed(mbps(b.v1.bytes, r.publish1.seconds), 1),
              `${fixed(r.update2.seconds, 3)} s`,
            ]);
          }
        }
      } catch (error) {
        const message =
          error instanceof Error
            ? error instanceof WorkerError
              ? error.message
              : (error.stack ?? error.message)
            : String(error);
        errors.push(`${scenario.label}: ${message}`);
        log(`${scenario.key}: FAILED\n${message}`);
      }
    }

    const cpu = cpus();
    const command = `FERRY_BENCH_SCALE=${SCALE} FERRY_BENCH_CHUNKS=${CHUNK_STUDY ? 1 : 0} npm run bench:ferry`;
    console.log("## Ferry benchmark\n");
    console.log(
      `Node ${process.version}, ${process.platform}/${process.arch}, ${cpu.length} × ${cpu[0]?.model.trim() ?? "unknown CPU"}; ` +
        `loopback server ${server.url}; each publish/update in its own child process; single run per figure.\n`,
    );
    if (inputs.length > 0) {
      console.log(table(["scenario", "v1", "v2", "new or changed in v2", "removed in v2"], inputs));
      console.log("");
    }
    if (rows.length > 0) {
      console.log(table(["scenario", "metric", "Ferry", "baseline", "ratio"], rows));
      console.log("");
      console.log(
        "ratio = Ferry / baseline (bytes, requests, time, RSS: lower is better; MB/s: higher is better). " +
          "Bytes downloaded include metadata. Whole-file baselines compress each file alone (brotli q9, gzip -9). " +
          "Times are the library call inside the child (Node start-up excluded); baselines run in the parent on the same warm page cache. " +
          "MB = 10^6 bytes; peak RSS = process.resourceUsage().maxRSS of the child.\n",
      );
    }
    if (study.length > 0) {
      console.log("### Chunk-size study (corpus scenario; min = avg/4, max = avg×4)\n");
      console.log(
        table(
          [
            "avg",
            "min / max",
            "v2 chunks",
            "v2 manifest (br)",
            "update downloaded",
            "vs changed-files brotli",
            "update metadata",
            "update requests",
            "fresh install v1 downloaded",
            "repo size after v2",
            "publish v1 MB/s",
            "update time",
          ],
          study,
        ),
      );
      console.log("");
    } else if (!CHUNK_STUDY) {
      console.log("Chunk-size study disabled (FERRY_BENCH_CHUNKS=0).\n");
    }
    for (const line of output) console.log(`${line}\n`);
    if (errors.length > 0) {
      console.log("### Failures\n");
      for (const e of errors) console.log("```\n" + e + "\n```\n");
      process.exitCode = 1;
    }
    console.log(`Reproduce (from the repository root): \`${command}\``);
    console.log(`Total bench time ${fixed((performance.now() - started) / 1000, 1)} s.`);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await server?.close();
    await rm(tmp, { recursive: true, force: true });
  }
}

await main();
