/**
 * The agent's event log: every event gets a sequence number (from 1); the newest `capacity` are kept
 * for long-poll and SSE readers, and live listeners (stdio, SSE) get each one as it is appended.
 */
export interface LoggedEvent {
  readonly seq: number;
  readonly event: AgentEvent;
}

/** A lifecycle event of the library (src/client/events.ts), or the agent's job event. */
export type AgentEvent = { readonly type: string } & Readonly<Record<string, unknown>>;

export interface EventPage {
  readonly events: readonly LoggedEvent[];
  /** The `after` to pass next: the newest seq returned, or `after` itself when nothing was. */
  readonly next: number;
  /** Events after `after` were dropped from the ring before this read. */
  readonly dropped?: true;
}

export const EVENT_LOG_CAPACITY = 1024;

export class EventLog {
  private readonly ring: LoggedEvent[] = [];
  private seq = 0;
  private readonly listeners = new Set<(e: LoggedEvent) => void>();

  constructor(private readonly capacity = EVENT_LOG_CAPACITY) {}

  /** The newest seq appended (0 before the first event). */
  get last(): number {
    return this.seq;
  }

  append(event: AgentEvent): LoggedEvent {
    const logged = { seq: ++this.seq, event };
    this.ring.push(logged);
    if (this.ring.length > this.capacity) this.ring.shift();
    for (const listener of this.listeners) listener(logged);
    return logged;
  }

  /** Calls `listener` for every event appended from now on; returns the function that stops it. */
  subscribe(listener: (e: LoggedEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The kept events newer than `after`. */
  after(after: number): EventPage {
    const events = this.ring.filter((e) => e.seq > after);
    const oldest = this.ring[0]?.seq ?? this.seq + 1;
    return {
      events,
      next: events.at(-1)?.seq ?? Math.max(after, 0),
      ...(after + 1 < oldest && this.seq > after ? { dropped: true as const } : {}),
    };
  }

  /**
   * Long-poll: the events newer than `after` at once when there are some, else when the next one is
   * appended, or an empty page after `timeoutMs` (or when `signal` aborts: the client went away).
   */
  wait(after: number, timeoutMs: number, signal?: AbortSignal): Promise<EventPage> {
    const now = this.after(after);
    if (now.events.length > 0 || signal?.aborted) return Promise.resolve(now);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        stop();
        signal?.removeEventListener("abort", done);
        resolve(this.after(after));
      };
      const timer = setTimeout(done, timeoutMs);
      const stop = this.subscribe(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }
}
