/**
 * Runs one bench/worker.ts job in a child process and returns its wall time and peak RSS, so a library
 * call's memory is measured in isolation from the benchmark's own.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { WorkerFailure, WorkerJob, WorkerOutput } from "./worker.js";

const WORKER = fileURLToPath(new URL("./worker.js", import.meta.url));

export class WorkerError extends Error {}

export interface Measured<T> {
  readonly seconds: number;
  readonly rssMiB: number;
  readonly result: T;
}

export function runWorker<T>(job: WorkerJob): Promise<Measured<T>> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [WORKER, JSON.stringify(job)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      const line = stdout.trim().split("\n").at(-1) ?? "";
      let parsed: Partial<WorkerOutput & WorkerFailure> | undefined;
      try {
        parsed = JSON.parse(line) as Partial<WorkerOutput & WorkerFailure>;
      } catch {
        parsed = undefined;
      }
      if (parsed?.error) {
        const e = parsed.error;
        const code = e.code === undefined ? "" : ` [${String(e.code)}]`;
        reject(
          new WorkerError(
            `${job.op} failed: ${e.name}${code}: ${e.message}\n${e.stack ?? ""}${stderr ? `\nstderr:\n${stderr}` : ""}`,
          ),
        );
      } else if (code !== 0 || !parsed || parsed.ms === undefined || parsed.maxRssKiB === undefined) {
        reject(
          new WorkerError(
            `${job.op} worker exited with ${signal ?? code}\nstdout:\n${stdout}\nstderr:\n${stderr}`,
          ),
        );
      } else {
        resolvePromise({
          seconds: parsed.ms / 1000,
          rssMiB: parsed.maxRssKiB / 1024,
          result: parsed.result as T,
        });
      }
    });
  });
}
