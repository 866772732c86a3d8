/**
 * The client's update lifecycle as a pure transition table (docs/LIFECYCLE.md). The driver
 * (src/client/ops/lifecycle.ts) feeds it inputs derived from the library's events; a transition the table
 * does not list is a bug in the driver, never silently accepted.
 *
 * `paused` is a state of its own for the UI, but the work behind it is a cancel that keeps the verified
 * staged chunks: resuming runs the update again and downloads only what is still missing.
 */
export type LifecycleState =
  | "idle"
  | "checking"
  | "available"
  | "up-to-date"
  | "downloading"
  | "verifying"
  | "applying"
  | "done"
  | "failed"
  | "cancelled"
  | "paused"
  | "rolled-back";

export type LifecycleInput =
  | "check"
  | "found-update"
  | "found-none"
  | "download"
  | "downloaded"
  | "applying"
  | "applied"
  | "fail"
  | "cancel"
  | "pause"
  | "resume"
  | "rolled-back"
  | "reset";

export const LIFECYCLE_STATES: readonly LifecycleState[] = [
  "idle",
  "checking",
  "available",
  "up-to-date",
  "downloading",
  "verifying",
  "applying",
  "done",
  "failed",
  "cancelled",
  "paused",
  "rolled-back",
];

/** States in which no operation runs: a new check or update may start. */
export const RESTING_STATES: ReadonlySet<LifecycleState> = new Set([
  "idle",
  "available",
  "up-to-date",
  "done",
  "failed",
  "cancelled",
  "paused",
  "rolled-back",
]);

/** States in which an operation runs (and can be cancelled). */
export function isBusy(state: LifecycleState): boolean {
  return !RESTING_STATES.has(state);
}

const START: Partial<Record<LifecycleInput, LifecycleState>> = {
  check: "checking",
  download: "downloading",
  "rolled-back": "rolled-back",
  reset: "idle",
};

/**
 * The table. Cancel and pause are accepted in every busy phase except `applying`: once the journal is
 * written the commit rolls forward (the install must end exactly old or exactly new), so a cancel there
 * is too late and the state stays `applying` until `applied` (or `fail`).
 */
const TABLE: Readonly<Record<LifecycleState, Partial<Record<LifecycleInput, LifecycleState>>>> = {
  idle: START,
  checking: {
    "found-update": "available",
    "found-none": "up-to-date",
    fail: "failed",
    cancel: "cancelled",
    pause: "cancelled", // nothing to keep while checking: a pause is a cancel
  },
  available: START,
  "up-to-date": START,
  downloading: {
    downloaded: "verifying",
    // An update() that finds nothing to do (the release was installed meanwhile) ends here too.
    applied: "done",
    fail: "failed",
    cancel: "cancelled",
    pause: "paused",
  },
  verifying: { applying: "applying", fail: "failed", cancel: "cancelled", pause: "paused" },
  applying: { applied: "done", fail: "failed", cancel: "applying", pause: "applying" },
  done: START,
  failed: START,
  cancelled: START,
  paused: { ...START, resume: "downloading", cancel: "cancelled" },
  "rolled-back": START,
};

/** The next state, or undefined when `input` is not allowed in `state`. */
export function transition(state: LifecycleState, input: LifecycleInput): LifecycleState | undefined {
  return TABLE[state][input];
}

/** One byte-count sample for the speed estimate. */
interface Sample {
  readonly atMs: number;
  readonly bytes: number;
}

/**
 * Download speed over a sliding window, and the ETA it implies. Pure: the caller passes the time
 * (from its injected clock). Speed is undefined until two samples span some time.
 */
export class RateMeter {
  private samples: Sample[] = [];

  constructor(private readonly windowMs = 5000) {}

  add(atMs: number, bytes: number): void {
    this.samples.push({ atMs, bytes });
    while (this.samples.length > 2 && atMs - this.samples[1]!.atMs >= this.windowMs) this.samples.shift();
  }

  reset(): void {
    this.samples = [];
  }

  /** Whole bytes per second over the window (never negative), or undefined without enough data. */
  bytesPerSecond(): number | undefined {
    const speed = this.rate();
    return speed === undefined ? undefined : Math.round(speed);
  }

  /**
   * Whole seconds until `total` at the current speed, rounded up (0 only when nothing is left; never
   * negative), or undefined when the speed is unknown or zero.
   */
  etaSeconds(total: number): number | undefined {
    const speed = this.rate();
    const last = this.samples[this.samples.length - 1];
    if (speed === undefined || speed <= 0 || !last) return undefined;
    return Math.max(0, Math.ceil((total - last.bytes) / speed));
  }

  private rate(): number | undefined {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.atMs <= first.atMs) return undefined;
    return Math.max(0, ((last.bytes - first.bytes) * 1000) / (last.atMs - first.atMs));
  }
}
