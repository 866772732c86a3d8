import { FerryError, type FerryErrorCode, isFerryError } from "../../core/errors.js";
import {
  isBusy,
  type LifecycleInput,
  type LifecycleState,
  RateMeter,
  transition,
} from "../../core/lifecycle.js";
import { defaultDeps } from "../defaults.js";
import { type CheckAnswer, type CheckCacheMemory, cachedCheck } from "./check-cache.js";
import type { LifecycleEvent, LifecycleSink, ProgressSnapshot, UpdateEvent } from "../events.js";
import { type SimulateOptions, simulatedCheck, simulatedUpdate } from "./simulate.js";
import { update, type UpdateOptions, type UpdateSummary } from "./update.js";

export interface LifecycleOptions extends UpdateOptions {
  /** Drive the lifecycle without network or disk (Ren'Py's simulate); see simulate.ts. */
  readonly simulate?: SimulateOptions;
  /** Default maxAge of check() in ms (default 0: always revalidate). */
  readonly maxAgeMs?: number;
}

export type { ProgressSnapshot } from "../events.js";

export interface LifecycleSnapshot {
  readonly state: LifecycleState;
  readonly lastCheck: CheckAnswer | undefined;
  readonly progress: ProgressSnapshot | undefined;
  readonly error: { readonly code: FerryErrorCode | "E_INTERNAL"; readonly message: string } | undefined;
}

/**
 * The update lifecycle of one install as a typed state machine (src/core/lifecycle.ts) around the
 * library's check and update: `check()`, `update()`, `cancel()`, `pause()`, `resume()`, with state and
 * progress events for an update screen. It adds no new way to change the install: every change goes
 * through update(), so cancel, pause or a failure at any phase leaves the install exactly as it was
 * (or, once the commit has begun, exactly the new release). Pause is a cancel that keeps the verified
 * staged chunks; resume runs the update again and fetches only what is still missing.
 */
export class Updater {
  private current: LifecycleState = "idle";
  private readonly listeners = new Set<LifecycleSink>();
  private controller: AbortController | undefined;
  private stopRequest: "cancel" | "pause" | undefined;
  private lastCheck: CheckAnswer | undefined;
  /** The check cache in this process, for installs whose check-cache file cannot be written. */
  private readonly checkMemory: CheckCacheMemory = {};
  private progress: ProgressSnapshot | undefined;
  private error: { code: FerryErrorCode | "E_INTERNAL"; message: string } | undefined;
  private readonly meter = new RateMeter();
  private readonly clock;

  constructor(private readonly options: LifecycleOptions) {
    this.clock = options.clock ?? defaultDeps().clock;
    options.signal?.addEventListener("abort", () => this.cancel(), { once: true });
  }

  get state(): LifecycleState {
    return this.current;
  }

  /** True when the updater simulates (options.simulate): no network, no file of the install is read. */
  get simulated(): boolean {
    return this.options.simulate !== undefined;
  }

  snapshot(): LifecycleSnapshot {
    return { state: this.current, lastCheck: this.lastCheck, progress: this.progress, error: this.error };
  }

  /** Adds a listener for lifecycle events; returns the function that removes it. */
  subscribe(listener: LifecycleSink): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Checks for an update (from the cache within maxAgeMs). Rejects with the check's error. */
  async check(options: { readonly maxAgeMs?: number } = {}): Promise<CheckAnswer> {
    const signal = this.begin("check");
    try {
      const answer = this.options.simulate
        ? await simulatedCheck(this.options.simulate, this.clock, signal)
        : await cachedCheck({
            ...this.options,
            signal,
            maxAgeMs: options.maxAgeMs ?? this.options.maxAgeMs ?? 0,
            memory: this.checkMemory,
            onEvent: (event) => this.library(event),
          });
      this.lastCheck = answer;
      this.finish(answer.updateAvailable ? "found-update" : "found-none");
      return answer;
    } catch (error) {
      throw this.failed(error, signal);
    }
  }

  /**
   * Downloads, verifies and applies the channel's release. Resolves with the summary when done; rejects
   * with E_ABORTED (data.reason "cancel" or "pause") when stopped, or with the update's error.
   */
  async update(options: { readonly force?: boolean } = {}): Promise<UpdateSummary> {
    const signal = this.begin(this.current === "paused" ? "resume" : "download");
    this.progress = undefined;
    this.meter.reset();
    try {
      const onEvent = (event: UpdateEvent) => this.library(event);
      const summary = this.options.simulate
        ? await simulatedUpdate(this.options.simulate, this.clock, signal, onEvent)
        : await update({ ...this.options, ...(options.force ? { force: true } : {}), signal, onEvent });
      // Staged for the next start (applyOn "next-start"): no commit event comes; its last step was writing
      // .ferry/pending.json, the journal the next open() puts in force. It ends through applying as well.
      if (summary.pending && this.current === "verifying") this.move("applying");
      this.finish("applied");
      return summary;
    } catch (error) {
      throw this.failed(error, signal);
    }
  }

  /** Resumes a paused update: staged chunks are kept, so only what is missing is downloaded. */
  resume(): Promise<UpdateSummary> {
    if (this.current !== "paused") return Promise.reject(this.refused("resume"));
    return this.update();
  }

  /**
   * Asks the running operation to stop; the install stays as it was. Returns false when nothing can be
   * stopped: no operation runs, or the commit has begun (it completes, so the install is exactly new).
   */
  cancel(): boolean {
    if (this.current === "paused") {
      this.move("cancel");
      return true;
    }
    return this.stop("cancel");
  }

  /** Like cancel, but the state becomes `paused` and resume() continues where the download stopped. */
  pause(): boolean {
    return this.stop("pause");
  }

  /** Records a rollback done elsewhere (ferry rollback / automatic rollback) so the screen shows it. */
  rolledBack(): void {
    this.move("rolled-back");
  }

  private stop(request: "cancel" | "pause"): boolean {
    if (!isBusy(this.current) || this.current === "applying" || !this.controller) return false;
    // Nothing is staged while checking: a pause there is a cancel.
    this.stopRequest = this.current === "checking" ? "cancel" : request;
    this.controller.abort(
      new FerryError("E_ABORTED", `The update was stopped (${request}).`, { reason: request }),
    );
    return true;
  }

  private begin(input: LifecycleInput): AbortSignal {
    if (isBusy(this.current)) throw this.refused(input);
    // The controller exists before the state event, so a listener may cancel at once.
    const controller = new AbortController();
    this.controller = controller;
    this.error = undefined;
    this.stopRequest = undefined;
    this.move(input);
    return controller.signal;
  }

  private finish(input: LifecycleInput): void {
    this.controller = undefined;
    this.move(input);
  }

  /** Moves to failed, cancelled or paused, and returns the error to reject with. */
  private failed(error: unknown, signal: AbortSignal): unknown {
    this.controller = undefined;
    const request = this.stopRequest;
    if (signal.aborted && request) {
      const stopped = new FerryError(
        "E_ABORTED",
        request === "pause"
          ? "The update was paused; the install is unchanged and verified downloads are kept for resume()."
          : "The update was cancelled; the install is unchanged.",
        { reason: request },
        { cause: error },
      );
      this.error = { code: stopped.code, message: stopped.message };
      this.move(request);
      return stopped;
    }
    this.error = isFerryError(error)
      ? { code: error.code, message: error.message }
      : { code: "E_INTERNAL", message: error instanceof Error ? error.message : String(error) };
    this.move("fail");
    return error;
  }

  private refused(input: string): FerryError {
    return new FerryError(
      "E_USAGE",
      `Cannot ${input} while the updater is '${this.current}'. Wait for it to finish or cancel it first.`,
      { state: this.current },
    );
  }

  private move(input: LifecycleInput): void {
    const next = transition(this.current, input);
    if (next === undefined) {
      throw new FerryError("E_USAGE", `The lifecycle cannot take '${input}' in state '${this.current}'.`, {
        state: this.current,
        input,
      });
    }
    if (next === this.current) return;
    const previous = this.current;
    this.current = next;
    this.emit({
      type: "state",
      state: next,
      previous,
      at: this.clock.now().toISOString(),
      ...(this.error && (next === "failed" || next === "cancelled" || next === "paused")
        ? { error: this.error }
        : {}),
    });
  }

  /** Maps the library's events onto phases and progress. */
  private library(event: UpdateEvent): void {
    this.options.onEvent?.(event);
    this.emit({ type: "library", event });
    const nowMs = this.clock.now().getTime();
    switch (event.type) {
      case "plan":
        this.setProgress({
          phase: "downloading",
          bytesDone: 0,
          bytesTotal: event.downloadBytes,
          filesDone: 0,
          filesTotal: event.filesToWrite,
        });
        this.meter.add(nowMs, 0);
        break;
      case "download":
        this.meter.add(nowMs, event.bytes);
        this.setProgress({ phase: "downloading", bytesDone: event.bytes, bytesTotal: event.totalBytes });
        break;
      case "verify":
        this.move("downloaded");
        this.setProgress({ phase: "verifying", filesDone: 0, filesTotal: event.files });
        break;
      case "assemble":
        this.setProgress({ phase: "verifying", filesDone: event.done, filesTotal: event.total });
        break;
      case "commit":
        this.move("applying");
        this.setProgress({ phase: "applying" });
        break;
      default:
        break;
    }
  }

  private setProgress(change: Partial<ProgressSnapshot>): void {
    const base: ProgressSnapshot = this.progress ?? {
      phase: "downloading",
      bytesDone: 0,
      bytesTotal: 0,
      filesDone: 0,
      filesTotal: 0,
      bytesPerSecond: undefined,
      etaSeconds: undefined,
    };
    const next = { ...base, ...change };
    const downloading = next.phase === "downloading";
    const progress: ProgressSnapshot = {
      ...next,
      bytesPerSecond: downloading ? this.meter.bytesPerSecond() : undefined,
      etaSeconds: downloading
        ? this.meter.etaSeconds(next.bytesTotal)
        : next.phase === "applying"
          ? 0
          : undefined,
    };
    this.progress = progress;
    this.emit({ type: "progress", ...progress });
  }

  private emit(event: LifecycleEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

/** An Updater for one install (see Updater). */
export function createUpdater(options: LifecycleOptions): Updater {
  return new Updater(options);
}
