import { FerryError, isFerryError } from "../core/errors.js";
import type { EventSink } from "./events.js";
import { isTransient, type RetryPolicy, retryDelayMs } from "./http.js";

/** What to do after a mirror failed for an object: try the next mirror now, back off and retry, or give up. */
export type FailoverStep = "next" | "retry" | "fail";

/**
 * Where one object is fetched from: the current mirror, and the mirrors that answered it with a
 * permanent failure (404, hash mismatch, wrong size or type). Transient failures (network, 5xx) move
 * on to the next mirror and come back round after a backoff.
 */
export class MirrorCursor {
  private readonly failed = new Set<number>();

  constructor(
    private readonly set: MirrorSet,
    public current: number,
    private readonly only: boolean,
  ) {}

  get base(): string {
    return this.set.bases[this.current]!;
  }

  fail(error: unknown): FailoverStep {
    if (!isFerryError(error)) return "fail";
    if (error.code === "E_NETWORK") this.set.down.add(this.current);
    if (!isTransient(error)) this.failed.add(this.current);
    const n = this.only ? 1 : this.set.bases.length;
    for (let k = 1; k <= n; k++) {
      const i = this.only ? this.current : (this.current + k) % n;
      if (this.failed.has(i)) continue;
      const wrapped = i <= this.current;
      this.current = i;
      return wrapped ? "retry" : "next";
    }
    return "fail";
  }

  succeeded(): void {
    this.set.down.delete(this.current);
  }
}

/**
 * The base URLs of one repository, most preferred first (CDN, then origin). Every mirror serves the
 * same signed repository: whatever comes from any of them is checked against the same pointer and
 * manifest hashes, so a mirror can fail or lie but never make the client accept other content.
 */
export class MirrorSet {
  /** Mirrors whose last request failed at the network level: new objects start past them. */
  readonly down = new Set<number>();
  private readonly cursors = new Map<string, MirrorCursor>();

  constructor(readonly bases: readonly string[]) {}

  /** The shared cursor for a repository path (every request for the object follows it). */
  cursor(path: string): MirrorCursor {
    let cursor = this.cursors.get(path);
    if (!cursor) {
      const up = this.bases.findIndex((_, i) => !this.down.has(i));
      cursor = new MirrorCursor(this, up === -1 ? 0 : up, false);
      this.cursors.set(path, cursor);
    }
    return cursor;
  }

  /** A cursor fixed on one mirror (each mirror's pointer is read on its own). */
  pinned(index: number): MirrorCursor {
    return new MirrorCursor(this, index, true);
  }

  url(path: string, index?: number): string {
    const base = index === undefined ? this.cursor(path).base : this.bases[index]!;
    return new URL(path, base).toString();
  }
}

/** A mirror was abandoned for an object (UpdateEvent "mirror"). */
export function mirrorEvent(path: string, from: string, to: string, error: FerryError) {
  return { type: "mirror", path, from, to, code: error.code, message: error.message } as const;
}

/**
 * Runs `work` against the cursor's mirror until it succeeds: on failure the next usable mirror is tried
 * at once; when every usable mirror failed transiently, the round repeats after a backoff, up to
 * `maxAttempts` rounds. With one mirror this is exactly withRetries.
 */
export async function withMirrors<T>(
  cursor: MirrorCursor,
  path: string,
  policy: RetryPolicy & { readonly emit?: EventSink | undefined },
  work: (url: string) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ;) {
    const url = new URL(path, cursor.base).toString();
    try {
      const result = await work(url);
      cursor.succeeded();
      return result;
    } catch (error) {
      if (policy.signal?.aborted) throw error;
      const from = cursor.base;
      const step = cursor.fail(error);
      if (step === "next") {
        policy.emit?.(mirrorEvent(path, from, cursor.base, error as FerryError));
        continue;
      }
      if (step === "fail" || attempt >= policy.maxAttempts) throw error;
      const delayMs = retryDelayMs(attempt, error as FerryError);
      if (delayMs === undefined) throw error;
      policy.onRetry?.(attempt, delayMs, error as FerryError);
      await policy.sleep(delayMs, policy.signal);
      attempt++;
    }
  }
}
