import { FerryError } from "../core/errors.js";
import type { Clock } from "../ports/clock.js";
import type { Host } from "../ports/host.js";

/** The clock port on the browser's timers. */
export const browserClock: Clock = {
  now: () => new Date(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(aborted(signal));
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(aborted(signal!));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
    }),
};

function aborted(signal: AbortSignal): unknown {
  const reason: unknown = signal.reason;
  return reason instanceof FerryError ? reason : new FerryError("E_ABORTED", "The operation was cancelled.");
}

/** The host port in a page or worker: randomness only; there are no processes to probe. */
export const browserHost: Host = {
  randomId(bytes: number): string {
    const raw = crypto.getRandomValues(new Uint8Array(bytes));
    return [...raw].map((b) => b.toString(16).padStart(2, "0")).join("");
  },
  pid: 0,
  hostname: () => globalThis.location?.host ?? "browser",
  processAlive: () => true,
  absolutePath: (path) => path,
};

/** Bytes the site may still store, or undefined when the browser does not say. */
export async function storageAvailable(): Promise<number | undefined> {
  if (!navigator.storage?.estimate) return undefined;
  const { quota, usage } = await navigator.storage.estimate();
  if (quota === undefined || usage === undefined) return undefined;
  return Math.max(0, quota - usage);
}
