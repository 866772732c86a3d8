/** Typed progress events of the client library; the CLI renders them, the library never prints. */
import type { LifecycleState } from "../core/lifecycle.js";
import type { FerryErrorCode } from "../core/errors.js";

export type RangeMode = "multi" | "single" | "full";

export type UpdateEvent =
  | { readonly type: "recovered"; readonly journal: string }
  /**
   * "checking": fetching and verifying the channel's pointer; "planning": reading the release's manifest
   * and comparing it with the installed files (may hash many files; ends with the "plan" event).
   */
  | { readonly type: "phase"; readonly phase: "checking"; readonly channel: string }
  | { readonly type: "phase"; readonly phase: "planning"; readonly version: string }
  | {
      readonly type: "pointer";
      readonly version: string;
      readonly serial: number;
      readonly installedVersion: string | null;
    }
  | {
      readonly type: "plan";
      readonly version: string;
      readonly filesToWrite: number;
      readonly filesToKeep: number;
      readonly filesToDelete: number;
      readonly chunksToFetch: number;
      /** Files to rebuild from a binary delta (their delta objects are among chunksToFetch unless staged). */
      readonly deltasToApply: number;
      readonly downloadBytes: number;
      readonly writeBytes: number;
    }
  | { readonly type: "download"; readonly bytes: number; readonly totalBytes: number }
  | { readonly type: "range-mode"; readonly mode: RangeMode; readonly reason: string; readonly url: string }
  | {
      readonly type: "retry";
      readonly url: string;
      readonly attempt: number;
      readonly delayMs: number;
      readonly code: string;
      readonly message: string;
    }
  /** Every chunk is downloaded and verified; staged files are now assembled and verified. */
  | { readonly type: "verify"; readonly files: number }
  /** A mirror failed for `path` (repository-relative); the object is fetched from `to` instead. */
  | {
      readonly type: "mirror";
      readonly path: string;
      readonly from: string;
      readonly to: string;
      readonly code: string;
      readonly message: string;
    }
  /**
   * A metadata bundle (docs/FORMAT.md §5.4) rebuilt `objects` of the new release's metadata objects from
   * the installed release's; `skipped` of its entries are downloaded on their own instead.
   */
  | {
      readonly type: "metadata-bundle";
      readonly url: string;
      readonly from: string;
      readonly bytes: number;
      readonly objects: number;
      readonly skipped: number;
    }
  /** The metadata bundle could not be downloaded: every metadata object is fetched on its own. */
  | {
      readonly type: "metadata-bundle-fallback";
      readonly url: string;
      readonly code: string;
      readonly message: string;
    }
  | { readonly type: "assemble"; readonly path: string; readonly done: number; readonly total: number }
  | { readonly type: "commit"; readonly moves: number; readonly deletes: number }
  /** An untracked file was where the new release writes: moved to `to` (under .ferry/displaced/), kept. */
  | { readonly type: "displaced"; readonly path: string; readonly to: string }
  /** The runtime gate set a release made for another runtime aside (docs/PACKAGES.md). */
  | {
      readonly type: "set-aside";
      readonly reason: "runtime";
      readonly version: string;
      readonly runtime: string;
      readonly clientRuntime: string;
      readonly at: string;
      readonly directory: string;
    };

export type EventSink = (event: UpdateEvent) => void;

/** The phases a progress event can belong to. */
export type LifecyclePhase = "checking" | "downloading" | "verifying" | "applying";

/**
 * Events of the update lifecycle (src/client/ops/lifecycle.ts): state changes, and progress with bytes,
 * files, speed and ETA. The underlying library events are forwarded too, as `{ type: "library" }`.
 */
export type LifecycleEvent =
  | {
      readonly type: "state";
      readonly state: LifecycleState;
      readonly previous: LifecycleState;
      readonly at: string;
      /** For failed (and cancelled/paused: E_ABORTED): what happened. */
      readonly error?: { readonly code: FerryErrorCode | "E_INTERNAL"; readonly message: string };
    }
  | ({ readonly type: "progress" } & ProgressSnapshot)
  | { readonly type: "library"; readonly event: UpdateEvent };

export type LifecycleSink = (event: LifecycleEvent) => void;

/** Progress of a lifecycle operation (bytes, files, speed, ETA) in one phase. */
export interface ProgressSnapshot {
  readonly phase: LifecyclePhase;
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly filesDone: number;
  readonly filesTotal: number;
  /** Undefined until the speed can be measured. */
  readonly bytesPerSecond: number | undefined;
  readonly etaSeconds: number | undefined;
}
