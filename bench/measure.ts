/**
 * Runs a command-line peer as a child process and measures its wall time and peak RSS. The RSS comes from
 * GNU time (`/usr/bin/time -f %M`, the kernel's ru_maxrss of the child and the children it waited for);
 * without it RSS is NaN and printed as n/a. Never blocks the event loop, so a loopback server in this
 * process keeps serving while the peer runs.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface ProcessRun {
  readonly seconds: number;
  /** Peak resident set of the process tree's largest member, MiB; NaN when GNU time is absent. */
  readonly rssMiB: number;
  readonly stdout: string;
}

const TIME = "/usr/bin/time";
const hasTime = spawnSync(TIME, ["-f", "%M", "true"], { stdio: "ignore" }).status === 0;
const scratch = mkdtempSync(join(tmpdir(), "ferry-measure-"));
process.once("exit", () => rmSync(scratch, { recursive: true, force: true }));
let counter = 0;

export interface RunOptions {
  readonly cwd?: string;
  readonly timeoutMs?: number;
}

/** Runs `cmd args`; rejects with the tail of stderr on a non-zero exit, a signal or the timeout. */
export function runMeasured(
  cmd: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<ProcessRun> {
  const timeoutMs = options.timeoutMs ?? 600_000;
  const rssFile = join(scratch, `rss-${++counter}`);
  const [file, argv] = hasTime ? [TIME, ["-f", "%M", "-o", rssFile, cmd, ...args]] : [cmd, [...args]];
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(file, argv, {
      cwd: options.cwd,
      stdio: ["ignore", "pipe", "pipe"],
      timeout: timeoutMs,
      killSignal: "SIGKILL",
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout = (stdout + d).slice(-65536);
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr = (stderr + d).slice(-4000);
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      const seconds = (performance.now() - start) / 1000;
      let rssMiB = Number.NaN;
      if (hasTime) {
        try {
          // GNU time prints "Command exited with non-zero status N" before the figure on failure.
          const last = readFileSync(rssFile, "utf8").trim().split("\n").at(-1) ?? "";
          rssMiB = Number(last) / 1024;
        } catch {
          rssMiB = Number.NaN; // killed before GNU time wrote the file: reported as n/a
        }
        rmSync(rssFile, { force: true });
      }
      if (code === 0) resolve({ seconds, rssMiB, stdout });
      else
        reject(
          new Error(
            signal === "SIGKILL"
              ? `${cmd} ${args.join(" ")} did not finish within ${timeoutMs / 1000} s (killed)`
              : `${cmd} ${args.join(" ")} exited ${code ?? signal}: ${stderr.trim().slice(-600)}`,
          ),
        );
    });
  });
}

/** Sums seconds and keeps the highest RSS over many runs of one peer (one run per file). */
export class RunTotals {
  seconds = 0;
  rssMiB = 0;
  add(run: ProcessRun): void {
    this.seconds += run.seconds;
    this.rssMiB = Number.isNaN(run.rssMiB) ? run.rssMiB : Math.max(this.rssMiB, run.rssMiB);
  }
}
