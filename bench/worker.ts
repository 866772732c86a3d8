/**
 * Benchmark child process: runs ONE library call (publish or update) and prints one JSON line
 * `{ ms, maxRssKiB, result }` on stdout, so the parent can read this process's peak RSS in isolation.
 * `ms` is the wall time of the library call alone (Node start-up and module loading excluded).
 *
 * Usage: node dist/bench/worker.js '<json job>'
 */
import { performance } from "node:perf_hooks";
import {
  type ChunkingParams,
  check,
  parsePrivateKey,
  parsePublicKey,
  publish,
  update,
} from "../src/index.js";

export type WorkerJob =
  | {
      readonly op: "publish";
      readonly buildDir: string;
      readonly repo: string;
      readonly version: string;
      readonly privatePem: string;
      readonly chunking?: ChunkingParams;
      /** The publisher's stat cache directory (bench/publish-bench.ts gives each run its own). */
      readonly cacheDir?: string;
      readonly deltaHistory?: number;
    }
  | {
      readonly op: "update";
      readonly repoUrl: string;
      readonly installDir: string;
      readonly publicText: string;
    }
  | {
      readonly op: "check";
      readonly repoUrl: string;
      readonly installDir: string;
      readonly publicText: string;
    }
  | { readonly op: "idle" };

export interface WorkerOutput {
  readonly ms: number;
  readonly maxRssKiB: number;
  readonly result: unknown;
}

export interface WorkerFailure {
  readonly error: {
    readonly name: string;
    readonly code?: unknown;
    readonly message: string;
    readonly stack?: string;
  };
}

async function run(job: WorkerJob): Promise<unknown> {
  switch (job.op) {
    case "publish":
      return publish({
        buildDir: job.buildDir,
        repo: job.repo,
        version: job.version,
        key: parsePrivateKey(job.privatePem, "bench key"),
        ...(job.chunking ? { chunking: job.chunking } : {}),
        ...(job.cacheDir === undefined ? {} : { cacheDir: job.cacheDir }),
        ...(job.deltaHistory === undefined ? {} : { deltaHistory: job.deltaHistory }),
      });
    case "update":
      return update({
        repoUrl: job.repoUrl,
        installDir: job.installDir,
        trust: [parsePublicKey(job.publicText, "bench public key")],
      });
    case "check":
      return check({
        repoUrl: job.repoUrl,
        installDir: job.installDir,
        trust: [parsePublicKey(job.publicText, "bench public key")],
      });
    case "idle":
      return null;
  }
}

async function main(): Promise<void> {
  const arg = process.argv[2];
  if (arg === undefined) throw new Error("usage: node dist/bench/worker.js '<json job>'");
  const job = JSON.parse(arg) as WorkerJob;
  const start = performance.now();
  const result = await run(job);
  const ms = performance.now() - start;
  const output: WorkerOutput = { ms, maxRssKiB: process.resourceUsage().maxRSS, result };
  process.stdout.write(`${JSON.stringify(output)}\n`);
}

main().catch((error: unknown) => {
  const e = error instanceof Error ? error : new Error(String(error));
  const failure: WorkerFailure = {
    error: {
      name: e.name,
      code: (e as { code?: unknown }).code,
      message: e.message,
      ...(e.stack === undefined ? {} : { stack: e.stack }),
    },
  };
  process.stdout.write(`${JSON.stringify(failure)}\n`);
  process.exitCode = 1;
});
