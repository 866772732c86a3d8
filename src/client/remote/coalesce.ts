import { FerryError } from "../../core/errors.js";
import type { EventSink, UpdateEvent } from "../events.js";

interface Flight<T> {
  readonly promise: Promise<T>;
  readonly controller: AbortController;
  readonly sinks: Set<EventSink>;
  waiters: number;
}

/**
 * In-process sharing of identical operations: a call whose key is in flight joins it (same result, same
 * events) instead of starting a second one. Each caller may cancel through its own signal: it stops
 * waiting at once, and the shared operation is aborted only when no caller waits for it any more (an
 * aborted flight is forgotten at once, so a later call starts afresh).
 */
export class Coalescer<T> {
  private readonly flights = new Map<string, Flight<T>>();

  run(
    key: string,
    signal: AbortSignal | undefined,
    sink: EventSink | undefined,
    work: (signal: AbortSignal, emit: EventSink) => Promise<T>,
  ): Promise<T> {
    if (signal?.aborted) return Promise.reject(cancelled());
    let flight = this.flights.get(key);
    if (!flight) {
      const controller = new AbortController();
      const sinks = new Set<EventSink>();
      const emit = (event: UpdateEvent): void => {
        for (const s of sinks) s(event);
      };
      const promise = work(controller.signal, emit).finally(() => {
        if (this.flights.get(key) === flight) this.flights.delete(key);
      });
      promise.catch(() => undefined); // every waiter gets the rejection; an abandoned flight's is expected
      flight = { promise, controller, sinks, waiters: 0 };
      this.flights.set(key, flight);
    }
    const joined = flight;
    joined.waiters++;
    if (sink) joined.sinks.add(sink);
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const leave = (): void => {
        joined.waiters--;
        if (sink) joined.sinks.delete(sink);
        if (joined.waiters === 0) {
          if (this.flights.get(key) === joined) this.flights.delete(key);
          joined.controller.abort();
        }
      };
      const onAbort = (): void => {
        if (settled) return;
        settled = true;
        leave();
        reject(cancelled());
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      joined.promise.then(
        (value) => {
          if (settled) return;
          settled = true;
          signal?.removeEventListener("abort", onAbort);
          if (sink) joined.sinks.delete(sink);
          resolve(value);
        },
        (error: unknown) => {
          if (settled) return;
          settled = true;
          signal?.removeEventListener("abort", onAbort);
          if (sink) joined.sinks.delete(sink);
          reject(error);
        },
      );
    });
  }
}

function cancelled(): FerryError {
  return new FerryError(
    "E_ABORTED",
    "The request was cancelled; what other callers share keeps running, and the install stays consistent.",
  );
}

/** Runs operations on one key one after another (in-process): ensure calls on one install queue up. */
export class SerialQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}
