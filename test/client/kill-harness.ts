import "../../src/register-node.js";
import { spawn } from "node:child_process";
import { cp, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { status } from "../../src/client/ops/inspect.js";
import { update } from "../../src/client/ops/update.js";
import type { PublicKey } from "../../src/core/keys.js";
import { expectedTree, readTree, sortedEntries } from "../helpers/helpers.js";

const cli = join(import.meta.dirname, "..", "..", "src", "cli", "main.js");
/** Preloaded into the child: wraps its file system with kill points when FERRY_TEST_* is set. */
const killHooks = pathToFileURL(
  join(import.meta.dirname, "..", "..", "src", "testing", "kill-hooks.js"),
).href;

export interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  ms: number;
}

/** Runs the CLI in a child process; optionally SIGKILLs it after `killAfterMs`. */
export function runCli(
  args: string[],
  options: { killAfterMs?: number; env?: Record<string, string> } = {},
): Promise<ChildRun> {
  const started = Date.now();
  const child = spawn(process.execPath, ["--import", killHooks, cli, ...args], {
    stdio: "ignore",
    env: { ...process.env, ...options.env },
  });
  if (options.killAfterMs !== undefined) setTimeout(() => child.kill("SIGKILL"), options.killAfterMs);
  return new Promise((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal, ms: Date.now() - started })),
  );
}

export interface KillTrial {
  outcome: "old" | "new";
  run: ChildRun;
}

/**
 * One kill trial on a fresh copy of a v1 install: run `ferry update` (the caller arranges the kill),
 * recover (status opens the install), require exactly v1 or v2, then re-run (in process) and require v2.
 * Throws with `label` on a mixed tree or a failed re-run.
 */
export async function killTrial(
  setup: { template: string; repoUrl: string; rerunUrl: string; pub: PublicKey; trust: string },
  install: string,
  label: string,
  kill: { killAfterMs?: number; env?: Record<string, string> },
): Promise<KillTrial> {
  await cp(setup.template, install, { recursive: true });
  try {
    const run = await runCli(["update", setup.repoUrl, install, "--trust", setup.trust], kill);
    await status({ installDir: install }).catch(async (error: unknown) => {
      const lock = await readFile(join(install, ".ferry", "lock")).catch(() => undefined);
      throw new Error(
        `${label}: opening the install after the kill failed (lock file: ${lock === undefined ? "absent" : `${lock.length} bytes`}): ${String(error)}`,
        { cause: error },
      );
    }); // recovery on open
    const tree = JSON.stringify(sortedEntries(await readTree(install)));
    const outcome = tree === V1 ? "old" : tree === V2 ? "new" : undefined;
    if (!outcome) throw new Error(`${label}: mixed tree after recovery`);
    try {
      await update({ repoUrl: setup.rerunUrl, installDir: install, trust: [setup.pub] });
    } catch (error) {
      throw new Error(`${label}: the re-run failed: ${String(error)}`, { cause: error });
    }
    if (JSON.stringify(sortedEntries(await readTree(install))) !== V2)
      throw new Error(`${label}: the re-run did not reach v2`);
    return { outcome, run };
  } finally {
    await rm(install, { recursive: true, force: true });
  }
}

const V1 = JSON.stringify(sortedEntries(expectedTree(1)));
const V2 = JSON.stringify(sortedEntries(expectedTree(2)));

export type KillPhase = "before commit" | "in commit" | "after commit" | "finished";

/**
 * Where a killed run stopped, from its FERRY_TEST_TRACE lines (appended as each checkpoint is reached):
 * before the journal write (the point of no return), between it and the state write, after that, or it
 * exited by itself before the kill.
 */
export function killPhase(run: ChildRun, trace: readonly string[]): KillPhase {
  if (run.signal !== "SIGKILL") return "finished";
  const reached = (name: string) => trace.some((line) => line.startsWith(`${name}#`));
  if (!reached("writeFileAtomic:journal")) return "before commit";
  return reached("writeFileAtomic:state") ? "after commit" : "in commit";
}

/** Runs `work` over `items` with `parallel` workers. */
export async function parallel<T>(
  items: readonly T[],
  workers: number,
  work: (item: T, i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, workers) }, async () => {
      while (next < items.length) {
        const i = next++;
        await work(items[i]!, i);
      }
    }),
  );
}
