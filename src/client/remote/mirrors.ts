import { FerryError, isFerryError } from "../../core/errors.js";
import type { EventSink } from "../events.js";
import { classify, type FailoverStep, type FaultClass, type RetryPolicy, retrying } from "./retry.js";

export type { FailoverStep } from "./retry.js";

/**
 * Where one object is fetched from: the current mirror, and the mirrors that answered it with a
 * permanent failure (404, wrong type). Transient failures (network, 5xx, too slow) and, for a
 * content-addressed object, damaged bytes move on to the next mirror and come back round after a backoff.
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

  /** `fault` defaults to the class of a non-content-addressed object (damaged bytes are permanent). */
  fail(error: unknown, fault: FaultClass = classify(error, false)): FailoverStep {
    if (!isFerryError(error)) return "fail";
    if (error.code === "E_NETWORK" || error.code === "E_TIMEOUT") this.set.down.add(this.current);
    if (fault === "permanent") this.failed.add(this.current);
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
 * Runs `work` against the cursor's mirror through the shared retry policy (retry.ts): on failure the
 * next usable mirror is tried at once; when every usable mirror failed, the round repeats after a
 * backoff, up to `maxAttempts` rounds. With one mirror this is exactly withRetries.
 */
export async function withMirrors<T>(
  cursor: MirrorCursor,
  path: string,
  policy: RetryPolicy & { readonly emit?: EventSink | undefined },
  work: (url: string) => Promise<T>,
  object: { readonly what: string; readonly contentAddressed: boolean } = {
    what: path,
    contentAddressed: false,
  },
): Promise<T> {
  return retrying(
    policy,
    {
      ...object,
      source: () => new URL(path, cursor.base).toString(),
      failover: (error, fault) => {
        const from = cursor.base;
        const step = cursor.fail(error, fault);
        if (step === "next") policy.emit?.(mirrorEvent(path, from, cursor.base, error));
        return step;
      },
      succeeded: () => cursor.succeeded(),
    },
    work,
  );
}
