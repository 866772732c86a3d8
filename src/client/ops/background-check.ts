import { FerryError } from "../../core/errors.js";
import type { Clock } from "../../ports/clock.js";

export interface BackgroundCheckOptions<T> {
  /** Time between the end of one check and the start of the next. */
  readonly intervalMs: number;
  /** The check to run, e.g. `() => updater.check({ maxAgeMs })` or `() => cachedCheck(options)`. */
  readonly check: (signal: AbortSignal) => Promise<T>;
  readonly onResult: (result: T) => void;
  /** Every failure is reported here; the checker keeps going (the next check may succeed). */
  readonly onError: (error: unknown) => void;
  readonly clock: Clock;
  /** Wait one interval before the first check (default false: check at once). */
  readonly delayFirst?: boolean;
}

export interface BackgroundChecker {
  /** Stops the loop (cancelling a running check) and resolves once it has ended. */
  stop(): Promise<void>;
}

/**
 * Runs `check` every `intervalMs` on the injected clock until stop(). Checks never overlap. Pair it with
 * cachedCheck's maxAge so a game that starts often still asks the network at most once per interval.
 */
export function startBackgroundChecks<T>(options: BackgroundCheckOptions<T>): BackgroundChecker {
  if (!(options.intervalMs > 0)) {
    throw new FerryError(
      "E_USAGE",
      `The background check interval must be positive (got ${options.intervalMs} ms).`,
    );
  }
  const controller = new AbortController();
  const { signal } = controller;
  const loop = (async () => {
    let first = !options.delayFirst;
    while (!signal.aborted) {
      if (!first) {
        try {
          await options.clock.sleep(options.intervalMs, signal);
        } catch (error) {
          // A clock that cannot sleep would make the loop spin: report it and end.
          if (!signal.aborted) options.onError(error);
          return;
        }
      }
      first = false;
      if (signal.aborted) return;
      try {
        options.onResult(await options.check(signal));
      } catch (error) {
        if (!signal.aborted) options.onError(error);
      }
    }
  })();
  return {
    async stop() {
      controller.abort();
      await loop;
    },
  };
}
