import { FerryError } from "../../core/errors.js";
import type { Clock } from "../../ports/clock.js";
import type { EventSink } from "../events.js";
import type { CheckAnswer } from "./check-cache.js";
import type { UpdateSummary } from "./update-types.js";

/**
 * Ren'Py's `simulate`: drive the real lifecycle (state machine and events) with no network and no file
 * access, so a game's update screen can be built and tested. "available": a check finds an update and
 * the update runs through every phase; "not-available": the install is up to date; "error": the check
 * (and an update) fails with E_NETWORK.
 */
export type SimulateMode = "available" | "not-available" | "error";

export interface SimulateOptions {
  readonly mode: SimulateMode;
  /** Bytes the simulated update downloads (default 8 MiB). */
  readonly bytes?: number;
  /** Files it writes (default 12). */
  readonly files?: number;
  /** Time per simulated step on the injected clock (default 100 ms); 20 download steps, then files. */
  readonly stepMs?: number;
}

/** The version a simulated install reports as installed (before a simulated update). */
export const SIMULATED_INSTALLED_VERSION = "1.0.0";
const INSTALLED = SIMULATED_INSTALLED_VERSION;
const AVAILABLE = "1.1.0";
const DOWNLOAD_STEPS = 20;

function simulatedFailure(): FerryError {
  return new FerryError("E_NETWORK", "Simulated network error (simulate: 'error'); no request was made.", {
    simulated: true,
  });
}

function aborted(): FerryError {
  return new FerryError("E_ABORTED", "The simulated update was cancelled; nothing was changed.");
}

async function step(clock: Clock, ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) throw aborted();
  await clock.sleep(ms, signal).catch((error: unknown) => {
    throw signal?.aborted ? aborted() : error;
  });
  if (signal?.aborted) throw aborted();
}

export async function simulatedCheck(
  options: SimulateOptions,
  clock: Clock,
  signal: AbortSignal | undefined,
): Promise<CheckAnswer> {
  await step(clock, options.stepMs ?? 100, signal);
  if (options.mode === "error") throw simulatedFailure();
  const available = options.mode === "available";
  return {
    updateAvailable: available,
    installedVersion: INSTALLED,
    version: available ? AVAILABLE : INSTALLED,
    serial: available ? 2 : 1,
    expires: new Date(clock.now().getTime() + 86_400_000).toISOString(),
    downloadBytes: available ? (options.bytes ?? 8 * 1024 * 1024) : 0,
    filesToWrite: available ? (options.files ?? 12) : 0,
    mandatory: false,
    minVersion: null,
    mustUpdate: false,
    rolloutBucket: null,
    selection: "release",
    filesToDelete: 0,
    metadataBytes: 0,
    ...(available ? { notes: "Simulated release notes." } : {}),
    source: "network",
    checkedAt: clock.now().toISOString(),
    ageMs: 0,
  };
}

/** Emits the library's own event sequence (pointer, plan, download, verify, assemble, commit). */
export async function simulatedUpdate(
  options: SimulateOptions,
  clock: Clock,
  signal: AbortSignal | undefined,
  emit: EventSink,
): Promise<UpdateSummary> {
  const stepMs = options.stepMs ?? 100;
  const started = clock.now().getTime();
  await step(clock, stepMs, signal);
  if (options.mode === "error") throw simulatedFailure();
  const available = options.mode === "available";
  const version = available ? AVAILABLE : INSTALLED;
  emit({ type: "pointer", version, serial: available ? 2 : 1, installedVersion: INSTALLED });
  const bytes = available ? (options.bytes ?? 8 * 1024 * 1024) : 0;
  const files = available ? (options.files ?? 12) : 0;
  if (available) {
    emit({
      type: "plan",
      version,
      filesToWrite: files,
      filesToKeep: 0,
      filesToDelete: 0,
      chunksToFetch: DOWNLOAD_STEPS,
      deltasToApply: 0,
      downloadBytes: bytes,
      writeBytes: bytes,
    });
    for (let i = 1; i <= DOWNLOAD_STEPS; i++) {
      await step(clock, stepMs, signal);
      emit({ type: "download", bytes: Math.round((bytes * i) / DOWNLOAD_STEPS), totalBytes: bytes });
    }
    emit({ type: "verify", files });
    for (let i = 1; i <= files; i++) {
      await step(clock, stepMs, signal);
      emit({ type: "assemble", path: `simulated/file-${i}.dat`, done: i, total: files });
    }
    emit({ type: "commit", moves: files, deletes: 0 });
  }
  return {
    upToDate: !available,
    version,
    previousVersion: INSTALLED,
    serial: available ? 2 : 1,
    bytesDownloaded: bytes,
    metadataBytes: 0,
    requests: 0,
    filesWritten: files,
    filesDeleted: 0,
    filesKept: 0,
    chunksFetched: available ? DOWNLOAD_STEPS : 0,
    deltasApplied: 0,
    deltaFallbacks: 0,
    bytesReused: 0,
    bytesHashed: 0,
    rangeMode: "multi",
    durationMs: clock.now().getTime() - started,
  };
}
