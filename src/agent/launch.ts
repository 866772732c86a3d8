/**
 * `ferry launch`: starts a game through Ferry so that files in use are never replaced under a running
 * game (docs/ENGINES.md "Starting the game through Ferry"):
 *
 *   1. open() commits an update staged for the next start, counts the launch and rolls a crash loop back
 *      (docs/ROLLBACK.md), before the game reads a file;
 *   2. the game runs with FERRY_INSTALL_DIR (and, with an in-process agent, FERRY_AGENT_URL and
 *      FERRY_AGENT_TOKEN) in its environment; the agent only *stages* updates while the game runs;
 *   3. the release is marked healthy when the game says so (markHealthy through the agent), or with
 *      `healthyAfterMs` once the game has run that long or exited 0 before; a game that exits non-zero
 *      (or is killed) before that leaves the launch counted, so the next launch rolls back per
 *      maxUnhealthyLaunches.
 *
 * Progress is reported as typed events; nothing is printed here.
 */
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { constants } from "node:os";
import { status } from "../client/ops/inspect.js";
import { markHealthy, type OpenResult, open } from "../client/ops/launch.js";
import { FerryError, ioError } from "../core/errors.js";
import { serveHttp } from "./http-transport.js";
import { type AgentConfig, AgentSession } from "./session.js";

/** The in-process agent's settings: those of `ferry agent` (its install is the launch's). */
export type LaunchAgentConfig = Omit<AgentConfig, "installDir" | "gameRunning">;

export type LaunchEvent =
  | { readonly type: "opened"; readonly open: OpenResult }
  | { readonly type: "open-failed"; readonly error: FerryError }
  | { readonly type: "agent"; readonly url: string }
  | { readonly type: "started"; readonly pid: number; readonly command: string }
  | { readonly type: "signal"; readonly signal: NodeJS.Signals }
  | { readonly type: "warning"; readonly error: FerryError }
  | { readonly type: "healthy"; readonly reason: "ran-long-enough" | "exited-cleanly" | "game" }
  | {
      readonly type: "exited";
      readonly code: number | null;
      readonly signal: NodeJS.Signals | null;
      readonly healthy: boolean;
    };

export interface LaunchOptions {
  readonly installDir: string;
  /** The game's executable and its arguments (no shell). */
  readonly command: string;
  readonly args?: readonly string[];
  /** open()'s crash-loop limit (default 2). */
  readonly maxUnhealthyLaunches?: number;
  /** Mark the release healthy once the game has run this long (or exits 0 before); unset: only the game does. */
  readonly healthyAfterMs?: number;
  /** How long open() and markHealthy wait for another Ferry operation's install lock (default 30 s). */
  readonly lockWaitMs?: number;
  /** The environment the game gets (default process.env), plus the FERRY_* variables. */
  readonly env?: NodeJS.ProcessEnv;
  /** Working directory of the game (default: this process's). */
  readonly cwd?: string;
  /**
   * Runs an agent (HTTP on 127.0.0.1, docs/AGENT.md) for the game while it runs, its address and token in
   * FERRY_AGENT_URL and FERRY_AGENT_TOKEN. It never replaces installed files: updates are staged for the
   * next launch (AgentConfig.gameRunning). None: the game gets FERRY_INSTALL_DIR only.
   */
  readonly agent?: LaunchAgentConfig;
  /** Forward SIGINT and SIGTERM received by this process to the game (default true). */
  readonly forwardSignals?: boolean;
  readonly onEvent?: (event: LaunchEvent) => void;
}

export interface LaunchResult {
  /** open()'s result; null when open failed (the game was started anyway, see `openError`). */
  readonly open: OpenResult | null;
  readonly openError: FerryError | null;
  /** The game's exit code, or 128 + the signal number when a signal ended it (as a shell reports it). */
  readonly exitCode: number;
  readonly signal: NodeJS.Signals | null;
  /** Whether the installed release is marked healthy after this run, as far as this launch saw it. */
  readonly healthy: boolean;
  readonly durationMs: number;
}

const DEFAULT_LOCK_WAIT_MS = 30_000;
const FORWARDED: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM"];

/** Exit status of a process ended by `signal`, as POSIX shells report it. */
function signalExitCode(signal: NodeJS.Signals): number {
  const n = (constants.signals as Record<string, number | undefined>)[signal];
  return 128 + (n ?? 0);
}

export async function launch(options: LaunchOptions): Promise<LaunchResult> {
  const started = performance.now();
  const installDir = resolve(options.installDir);
  const emit = options.onEvent ?? (() => undefined);
  const lockWaitMs = options.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS;
  if (options.healthyAfterMs !== undefined && !(options.healthyAfterMs >= 0))
    throw new FerryError("E_USAGE", `healthyAfterMs must be >= 0, got ${options.healthyAfterMs}.`);

  // 1. Before the game reads a file. Configuration errors stop here; any other failure (a lock held too
  // long, a damaged staged update, a disk error) leaves the files exactly as they were, so the game starts
  // with the release it has: Ferry never keeps a game from starting.
  let opened: OpenResult | null = null;
  let openError: FerryError | null = null;
  try {
    opened = await open({
      installDir,
      lockWaitMs,
      ...(options.maxUnhealthyLaunches === undefined
        ? {}
        : { maxUnhealthyLaunches: options.maxUnhealthyLaunches }),
    });
    emit({ type: "opened", open: opened });
  } catch (error) {
    if (!(error instanceof FerryError) || error.code === "E_USAGE" || error.code === "E_NOT_INSTALLED")
      throw error;
    openError = error;
    emit({ type: "open-failed", error });
  }

  // 2. The agent, then the game.
  const agent = options.agent ? await startAgent(options.agent, installDir, opened) : undefined;
  if (agent) emit({ type: "agent", url: agent.url });
  const env: NodeJS.ProcessEnv = {
    ...(options.env ?? process.env),
    FERRY_INSTALL_DIR: installDir,
    ...(agent ? { FERRY_AGENT_URL: agent.url, FERRY_AGENT_TOKEN: agent.token } : {}),
  };
  if (!agent) {
    delete env.FERRY_AGENT_URL;
    delete env.FERRY_AGENT_TOKEN;
  }

  let healthy = opened?.healthy ?? false;
  let marking: Promise<void> | undefined;
  const mark = (reason: "ran-long-enough" | "exited-cleanly") => {
    if (healthy || marking || opened === null) return;
    marking = markHealthy({ installDir, lockWaitMs: Math.max(lockWaitMs, 6 * 3_600_000) }).then(() => {
      healthy = true;
      emit({ type: "healthy", reason });
    });
    // Awaited after the game exits; until then a failure must not become an unhandled rejection.
    marking.catch(() => undefined);
  };

  let exit: { code: number | null; signal: NodeJS.Signals | null };
  const forward = options.forwardSignals ?? true;
  const handlers = new Map<NodeJS.Signals, () => void>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const child = spawn(options.command, [...(options.args ?? [])], {
      stdio: "inherit",
      env,
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    });
    exit = await new Promise((resolveExit, reject) => {
      child.once("error", (error) => reject(ioError("Starting the game", options.command, error)));
      child.once("spawn", () => {
        emit({ type: "started", pid: child.pid ?? -1, command: options.command });
        if (forward)
          for (const signal of FORWARDED) {
            const handler = () => {
              emit({ type: "signal", signal });
              child.kill(signal);
            };
            handlers.set(signal, handler);
            process.on(signal, handler);
          }
        if (options.healthyAfterMs !== undefined)
          timer = setTimeout(() => mark("ran-long-enough"), options.healthyAfterMs);
      });
      child.once("exit", (code, signal) => resolveExit({ code, signal }));
    });
  } finally {
    if (timer) clearTimeout(timer);
    for (const [signal, handler] of handlers) process.off(signal, handler);
    // Stopping the agent cancels an update it runs (a staged update stays staged), which also frees the
    // install lock a pending markHealthy waits for.
    await agent?.close();
  }

  // 3. Health: the game may have marked it (through the agent, or `ferry mark-healthy`).
  if (!healthy && !marking && opened !== null) {
    try {
      const now = await status({ installDir, lockWaitMs });
      if (now.lifecycle.healthy) {
        healthy = true;
        emit({ type: "healthy", reason: "game" });
      }
    } catch (error) {
      // The game's exit code is the result; a failure to read the install is reported, not raised.
      if (!(error instanceof FerryError)) throw error;
      emit({ type: "warning", error });
    }
  }
  if (exit.code === 0 && options.healthyAfterMs !== undefined) mark("exited-cleanly");
  if (marking) await marking;
  emit({ type: "exited", code: exit.code, signal: exit.signal, healthy });
  return {
    open: opened,
    openError,
    exitCode: exit.code ?? (exit.signal ? signalExitCode(exit.signal) : 1),
    signal: exit.signal,
    healthy,
    durationMs: performance.now() - started,
  };
}

interface RunningAgent {
  readonly url: string;
  readonly token: string;
  close(): Promise<void>;
}

async function startAgent(
  config: LaunchAgentConfig,
  installDir: string,
  opened: OpenResult | null,
): Promise<RunningAgent> {
  const session = new AgentSession({ ...config, installDir, gameRunning: { opened } });
  const server = await serveHttp(session, { port: 0 });
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= server.close());
  // `shutdown` from the game stops the agent; the game keeps running.
  void server.shutdownRequested.then(close);
  return { url: server.url, token: server.token, close };
}
