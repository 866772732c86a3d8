/**
 * Apply benchmark (issue 16, "Applying is slow"): Ferry's fresh install and update against what the same
 * machine needs to just put the bytes on disk durably, measured in the same run.
 *
 *   npm run bench:apply
 *   FERRY_APPLY_RUNS=3 node dist/bench/apply-bench.js     (median of 3 runs per figure)
 *
 * Pairs from ../shared/corpus (resolved from the repository root; a pair whose trees are absent is
 * skipped; FERRY_CORPUS overrides the path): Shattered Pixel Dungeon v3.0.0→v3.2.5 and OpenRCT2 objects v1.7.9→v1.7.10. Each release is
 * published into a temp repository served on loopback; every install and update runs in its own child
 * process (bench/run-worker.ts), which also gives its peak RSS.
 *
 * Baselines: a fresh install against `cp -a src dst && sync` of the release tree; an update against
 * copying the changed and added files (read, SHA-256, write, fsync each, fsync their directories).
 * Results are printed only; everything is written under os.tmpdir() and removed at the end.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, open, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { generateKeyPair, type PublishResult, serveRepository, type UpdateSummary } from "../src/index.js";
import { checkTree, diffTrees, type TreeDiff } from "./peer-tools.js";
import { type Measured, runWorker } from "./run-worker.js";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const CORPUS = process.env.FERRY_CORPUS ?? resolve(REPO_ROOT, "../shared/corpus");
const RUNS = Math.max(1, Number(process.env.FERRY_APPLY_RUNS ?? "1") || 1);

interface Pair {
  readonly label: string;
  readonly from: string;
  readonly to: string;
}

const PAIRS: Pair[] = [
  {
    label: "SPD v3.0.0→v3.2.5",
    from: join(CORPUS, "shattered-pixel-dungeon/v3.0.0"),
    to: join(CORPUS, "shattered-pixel-dungeon/v3.2.5"),
  },
  {
    label: "OpenRCT2 objects v1.7.9→v1.7.10",
    from: join(CORPUS, "openrct2-objects/v1.7.9"),
    to: join(CORPUS, "openrct2-objects/v1.7.10"),
  },
];

const log = (line: string): void => {
  process.stderr.write(`[apply-bench] ${line}\n`);
};

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function sh(script: string): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const start = performance.now();
    const child = spawn("sh", ["-c", script], { stdio: ["ignore", "ignore", "inherit"] });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolvePromise((performance.now() - start) / 1000);
      else reject(new Error(`${script} exited with ${code}`));
    });
  });
}

const quote = (path: string): string => `'${path.replaceAll("'", "'\\''")}'`;

/** `cp -a src dst && sync`: the floor of putting a tree on disk durably with the system's own tools. */
async function copyTree(src: string, dst: string): Promise<number> {
  await rm(dst, { recursive: true, force: true });
  const seconds = await sh(`cp -a ${quote(src)} ${quote(dst)} && sync`);
  await rm(dst, { recursive: true, force: true });
  return seconds;
}

/**
 * What an update must do at the least: each changed or added file read, hashed (SHA-256) and written
 * durably (fsync), then each directory that received one fsynced. Seconds.
 */
async function copyChanged(to: string, diff: TreeDiff, dst: string): Promise<number> {
  await rm(dst, { recursive: true, force: true });
  const paths = [...diff.changed, ...diff.added];
  const dirs = new Set(paths.map((p) => dirname(join(dst, p))));
  for (const dir of dirs) await mkdir(dir, { recursive: true });
  await sh("sync"); // the set-up's directories are not part of the measured work
  const start = performance.now();
  for (const p of paths) {
    const data = await readFile(join(to, p));
    createHash("sha256").update(data).digest();
    const handle = await open(join(dst, p), "w");
    try {
      await handle.write(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
  for (const dir of dirs) {
    const handle = await open(dir, "r");
    await handle.sync().finally(() => handle.close());
  }
  const seconds = (performance.now() - start) / 1000;
  await rm(dst, { recursive: true, force: true });
  return seconds;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

interface PairResult {
  readonly pair: Pair;
  readonly diff: TreeDiff;
  readonly install: Measured<UpdateSummary>[];
  readonly update: Measured<UpdateSummary>[];
  readonly cp: number[];
  readonly changed: number[];
}

async function runPair(
  pair: Pair,
  tmp: string,
  url: string,
  serverRoot: string,
  keys: { privatePem: string; publicText: string },
): Promise<PairResult> {
  const diff = await diffTrees(pair.from, pair.to);
  const result: PairResult = { pair, diff, install: [], update: [], cp: [], changed: [] };
  for (let run = 0; run < RUNS; run++) {
    const id = `r${run}-${pair.label.replace(/[^A-Za-z0-9]+/g, "-")}`;
    const repo = join(serverRoot, id);
    await mkdir(repo, { recursive: true });
    const base = { repo, privatePem: keys.privatePem };
    const client = (dir: string) => ({
      repoUrl: `${url}${id}/`,
      installDir: dir,
      publicText: keys.publicText,
    });
    const old = join(tmp, `${id}-old`);
    const fresh = join(tmp, `${id}-fresh`);
    try {
      log(`${pair.label} run ${run + 1}/${RUNS}: publish ${pair.from}`);
      await runWorker<PublishResult>({ op: "publish", buildDir: pair.from, version: "1.0.0", ...base });
      await runWorker<UpdateSummary>({ op: "update", ...client(old) });
      log(`${pair.label}: publish ${pair.to}`);
      await runWorker<PublishResult>({ op: "publish", buildDir: pair.to, version: "2.0.0", ...base });
      await sh("sync");
      log(`${pair.label}: fresh install`);
      result.cp.push(await copyTree(pair.to, join(tmp, `${id}-cp`)));
      result.install.push(await runWorker<UpdateSummary>({ op: "update", ...client(fresh) }));
      await checkTree(fresh, diff);
      log(`${pair.label}: update`);
      await sh("sync");
      result.changed.push(await copyChanged(pair.to, diff, join(tmp, `${id}-changed`)));
      result.update.push(await runWorker<UpdateSummary>({ op: "update", ...client(old) }));
      await checkTree(old, diff);
    } finally {
      await rm(old, { recursive: true, force: true });
      await rm(fresh, { recursive: true, force: true });
      await rm(repo, { recursive: true, force: true });
    }
  }
  return result;
}

const f = (n: number, digits = 2): string => n.toFixed(digits);
const mib = (bytes: number): string => `${f(bytes / 1024 / 1024, 1)} MiB`;

function table(results: readonly PairResult[]): string {
  const rows = [
    "| pair | step | files / bytes | Ferry (s) | baseline (s) | ratio | Ferry peak RSS (MiB) |",
    "|---|---|---|---:|---:|---:|---:|",
  ];
  for (const r of results) {
    const install = median(r.install.map((m) => m.seconds));
    const update = median(r.update.map((m) => m.seconds));
    const cpS = median(r.cp);
    const changedS = median(r.changed);
    rows.push(
      `| ${r.pair.label} | fresh install vs \`cp -a && sync\` | ${r.diff.v2Files} / ${mib(r.diff.v2Bytes)} | ${f(install)} | ${f(cpS)} | ${f(install / cpS)}× | ${f(median(r.install.map((m) => m.rssMiB)), 1)} |`,
      `| ${r.pair.label} | update vs copy+fsync+sha256 of changed | ${r.diff.changed.length + r.diff.added.length} / ${mib(r.diff.changedBytes)} | ${f(update)} | ${f(changedS)} | ${f(update / changedS)}× | ${f(median(r.update.map((m) => m.rssMiB)), 1)} |`,
    );
  }
  return rows.join("\n");
}

async function main(): Promise<void> {
  const pairs: Pair[] = [];
  for (const pair of PAIRS) {
    if ((await exists(pair.from)) && (await exists(pair.to))) pairs.push(pair);
    else log(`skipped ${pair.label}: ${pair.from} or ${pair.to} is absent`);
  }
  if (pairs.length === 0) {
    process.stdout.write(`No corpus at ${CORPUS}: nothing measured.\n`);
    return;
  }
  const tmp = await mkdtemp(join(tmpdir(), "ferry-apply-bench-"));
  const serverRoot = join(tmp, "repos");
  await mkdir(serverRoot, { recursive: true });
  const server = await serveRepository({ root: serverRoot, host: "127.0.0.1" });
  try {
    if (!new URL(server.url).hostname.startsWith("127.")) throw new Error(`not loopback: ${server.url}`);
    const keys = generateKeyPair();
    const results: PairResult[] = [];
    for (const pair of pairs) results.push(await runPair(pair, tmp, server.url, serverRoot, keys));
    process.stdout.write(
      `Apply benchmark: median of ${RUNS} run(s); each Ferry step in its own child process over loopback HTTP.\n\n${table(results)}\n`,
    );
  } finally {
    await server.close();
    await rm(tmp, { recursive: true, force: true });
  }
}

await main();
