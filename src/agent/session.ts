/**
 * One install as the agent serves it: the Updater (check/update/cancel/pause/resume), the event log, the
 * one changing operation that may run at a time (E_BUSY for a second), and background jobs. It calls
 * only the library; the methods (methods.ts) say which library call each message is.
 */
import type { ClientDeps } from "../client/context.js";
import type { LifecycleEvent, UpdateEvent } from "../client/events.js";
import type { OpenResult } from "../client/ops/launch.js";
import { createUpdater, type LifecycleOptions, type Updater } from "../client/ops/lifecycle.js";
import type { SimulateMode } from "../client/ops/simulate.js";
import type { UpdateOptions } from "../client/ops/update-types.js";
import { FerryError } from "../core/errors.js";
import { Mounts } from "../mounts/mounts.js";
import { type AgentEvent, EventLog } from "./event-log.js";
import { errorBody } from "./protocol.js";

export interface AgentConfig {
  readonly repoUrl: string;
  readonly mirrors: readonly string[];
  readonly installDir: string;
  readonly trust: UpdateOptions["trust"];
  readonly channel?: string;
  readonly packages?: readonly string[];
  /** `check` answers from a cached answer younger than this (seconds; 0: always ask). */
  readonly checkIntervalSeconds: number;
  /** The game's runtime: passed to update and canUpdate, and the runtime mounts are recorded under. */
  readonly runtime?: string;
  /** The CLI's network flags (deadline, min rate, request timeout, attempts). */
  readonly deadlineMs?: number;
  readonly maxAttempts?: number;
  readonly network?: ClientDeps["network"];
  /** Ports for in-process tests; the CLI passes none (the Node adapters). */
  readonly deps?: Pick<ClientDeps, "fs" | "transport" | "clock" | "host">;
  /** The Ferry version reported in hello. */
  readonly ferryVersion: string;
  /**
   * Set by `ferry launch` (launch.ts) for the agent it runs beside the game it started: nothing replaces
   * installed files while the game runs. Updates are staged (applyOn "next-start") and committed by the
   * next launch; repair, rollback and packages.remove are refused (E_BUSY); `open` answers what the
   * launch's open returned instead of counting a second launch.
   */
  readonly gameRunning?: { readonly opened: OpenResult | null };
}

/** The runtime mounts are recorded under when the agent was started without --runtime. */
export const DEFAULT_MOUNT_RUNTIME = "default";

interface Running {
  readonly method: string;
  readonly controller: AbortController;
  /** Set when the operation runs through an Updater: cancel and pause go through it. */
  readonly updater: Updater | undefined;
  readonly done: Promise<unknown>;
}

export class AgentSession {
  readonly log = new EventLog();
  private updater: Updater;
  private readonly simulated = new Map<SimulateMode, Updater>();
  /** The updater of the last check/update: `lifecycle` reports its snapshot. */
  private lastUpdater: Updater;
  private running: Running | undefined;
  private jobs = 0;
  private mounts: Promise<Mounts> | undefined;
  private closed = false;

  constructor(readonly config: AgentConfig) {
    this.updater = this.makeUpdater({});
    this.lastUpdater = this.updater;
  }

  /** The library options every install operation gets: install, repository, trust, network, ports. */
  get base() {
    const c = this.config;
    return {
      repoUrl: c.repoUrl,
      mirrors: c.mirrors,
      installDir: c.installDir,
      trust: c.trust,
      ...(c.channel === undefined ? {} : { channel: c.channel }),
      ...(c.deadlineMs === undefined ? {} : { deadlineMs: c.deadlineMs }),
      ...(c.maxAttempts === undefined ? {} : { maxAttempts: c.maxAttempts }),
      ...(c.network === undefined ? {} : { network: c.network }),
      ...c.deps,
    };
  }

  private makeUpdater(extra: Partial<LifecycleOptions>): Updater {
    const c = this.config;
    const updater = createUpdater({
      ...this.base,
      ...(c.packages === undefined ? {} : { packages: c.packages }),
      ...(c.runtime === undefined ? {} : { runtime: c.runtime }),
      maxAgeMs: c.checkIntervalSeconds * 1000,
      ...(c.gameRunning ? { applyOn: "next-start" as const } : {}),
      ...extra,
    });
    updater.subscribe((event: LifecycleEvent) => this.log.append(event as unknown as AgentEvent));
    return updater;
  }

  /** The real updater, or the one simulating `mode` (no network, no disk). */
  updaterFor(mode: SimulateMode | undefined, packages?: readonly string[]): Updater {
    if (mode !== undefined) {
      let updater = this.simulated.get(mode);
      if (!updater) {
        updater = this.makeUpdater({ simulate: { mode } });
        this.simulated.set(mode, updater);
      }
      this.lastUpdater = updater;
      return updater;
    }
    // An update naming packages gets an updater for that set, which later calls keep using.
    if (packages !== undefined) this.updater = this.makeUpdater({ packages });
    this.lastUpdater = this.updater;
    return this.updater;
  }

  get snapshotUpdater(): Updater {
    return this.lastUpdater;
  }

  /** The library's event sink for operations that run without the Updater (repair, packages, ensure). */
  readonly onLibraryEvent = (event: UpdateEvent): void => {
    this.log.append({ type: "library", event });
  };

  /** The mount table of the install, opened (and its persisted mounts re-verified) on first use. */
  mountTable(): Promise<Mounts> {
    this.mounts ??= Mounts.open({
      runtime: this.config.runtime ?? DEFAULT_MOUNT_RUNTIME,
      installDir: this.config.installDir,
      ...(this.config.deps?.fs ? { fs: this.config.deps.fs } : {}),
      ...(this.config.deps?.clock ? { clock: this.config.deps.clock } : {}),
    });
    // A table that failed to open is opened again next time (the cause may be fixed by then).
    this.mounts.catch(() => {
      this.mounts = undefined;
    });
    return this.mounts;
  }

  /**
   * Runs a changing operation: E_BUSY while another runs. `work` gets the signal that cancel aborts.
   * With `background`, answers `{job}` at once and appends the job event when the operation ends.
   */
  async exclusive(
    method: string,
    background: boolean,
    updater: Updater | undefined,
    work: (signal: AbortSignal) => Promise<unknown>,
  ): Promise<unknown> {
    if (this.closed)
      throw new FerryError("E_ABORTED", `The agent is shutting down; ${method} was not started.`, { method });
    if (this.running)
      throw new FerryError(
        "E_BUSY",
        `Cannot run ${method}: ${this.running.method} is running. Wait for its result (or its job event), or send cancel.`,
        { method, running: this.running.method },
      );
    const controller = new AbortController();
    const done = Promise.resolve().then(() => work(controller.signal));
    const running: Running = { method, controller, updater, done };
    this.running = running;
    const settle = () => {
      if (this.running === running) this.running = undefined;
    };
    done.then(settle, settle);
    if (!background) return done;
    const job = `job-${++this.jobs}`;
    done.then(
      (result) => this.log.append({ type: "job", job, method, result }),
      (error: unknown) => this.log.append({ type: "job", job, method, error: errorBody(error) }),
    );
    return { job };
  }

  /** The running changing operation's method, if any. */
  get busyWith(): string | undefined {
    return this.running?.method;
  }

  /** The running changing operation (an opaque handle for cancelOperation), if any. */
  get runningOperation(): object | undefined {
    return this.running;
  }

  /** Cancels `operation` if it is still the one running (a client that went away). */
  cancelOperation(operation: object): void {
    if (this.running === operation) this.cancel();
  }

  /** Asks the running operation to stop (a paused update: forgets it). True when something was stopped. */
  cancel(): boolean {
    const running = this.running;
    if (!running) return this.lastUpdater.state === "paused" ? this.lastUpdater.cancel() : false;
    if (running.updater) return running.updater.cancel();
    if (running.controller.signal.aborted) return false;
    running.controller.abort(
      new FerryError("E_ABORTED", `${running.method} was cancelled.`, { reason: "cancel" }),
    );
    return true;
  }

  /** Pauses a running update (verified downloads are kept for resume). */
  pause(): boolean {
    return this.running?.updater?.pause() ?? false;
  }

  /** Cancels what runs and waits for it to end: the install is then exactly old or exactly new. */
  async close(): Promise<void> {
    this.closed = true;
    const running = this.running;
    if (!running) return;
    this.cancel();
    await running.done.catch(() => undefined);
  }
}
