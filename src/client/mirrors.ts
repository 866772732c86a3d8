import { FerryError, isFerryError } from "../core/errors.js";
import type { SignedPointer } from "../core/pointer.js";
import type { TrustedRoot } from "../core/root.js";
import type { EventSink } from "./events.js";
import {
  classify,
  type FailoverStep,
  type FaultClass,
  isTransient,
  type RetryPolicy,
  retrying,
} from "./retry.js";
import { fetchVerifiedPointer, type PointerSource, type StoredTrust, type TrustAnchor } from "./trust.js";

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

/** The mirrors' base URLs plus read access to one of them (RemoteRepository implements it). */
export interface MirroredSource {
  readonly mirrors: MirrorSet;
  pointerBytes(channel: string, signal?: AbortSignal, mirror?: number): Promise<Uint8Array>;
  rootBytes(version: number, signal?: AbortSignal, mirror?: number): Promise<Uint8Array>;
}

/**
 * The channel pointer to follow when there are several mirrors (docs/HOSTING.md "Mirrors"): every
 * mirror's pointer is fetched and verified on its own (with root files from the same mirror); among
 * those that verify, an unexpired one beats an expired one, then the highest serial wins, then the
 * earlier mirror. So a CDN serving a stale pointer can neither hold the client back nor make it report
 * "up to date" while the origin has a newer release (unless the origin is unreachable at that moment;
 * the next check sees it). Never a downgrade: the chosen pointer still passes checkFreshness against
 * the install. Fails only when no mirror yields a valid pointer.
 */
export async function fetchNewestPointer(
  repo: MirroredSource,
  channel: string,
  anchor: TrustAnchor,
  stored: StoredTrust | undefined,
  started: Date,
  signal: AbortSignal | undefined,
  emit: EventSink,
): Promise<{ pointer: SignedPointer; root: TrustedRoot; releaseKeysRotated: boolean }> {
  const bases = repo.mirrors.bases;
  const sourceFor = (i: number): PointerSource => ({
    url: (path) => repo.mirrors.url(path, i),
    pointerBytes: (c, s) => repo.pointerBytes(c, s, i),
    rootBytes: (v, s) => repo.rootBytes(v, s, i),
  });
  const anyMirror: PointerSource = {
    url: (path) => repo.mirrors.url(path),
    pointerBytes: (c, s) => repo.pointerBytes(c, s),
    rootBytes: (v, s) => repo.rootBytes(v, s),
  };
  if (bases.length === 1) return fetchVerifiedPointer(anyMirror, channel, anchor, stored, started, signal);
  // One attempt per mirror; when none answers validly and some failure was transient, the normal
  // failover with backoff follows (pointer and roots from whichever mirror answers).
  const results = await Promise.allSettled(
    bases.map((_, i) => fetchVerifiedPointer(sourceFor(i), channel, anchor, stored, started, signal)),
  );
  const valid = results.flatMap((r, i) => (r.status === "fulfilled" ? [{ ...r.value, index: i }] : []));
  const fresh = (p: SignedPointer) => new Date(p.body.expires).getTime() > started.getTime();
  const best = valid.reduce<(typeof valid)[number] | undefined>((a, b) => {
    if (!a) return b;
    if (fresh(a.pointer) !== fresh(b.pointer)) return fresh(a.pointer) ? a : b;
    return b.pointer.body.serial > a.pointer.body.serial ? b : a;
  }, undefined);
  const path = `channels/${channel}.json`;
  for (const [i, r] of results.entries()) {
    if (r.status === "rejected" && isFerryError(r.reason) && best) {
      emit(mirrorEvent(path, bases[i]!, bases[best.index]!, r.reason));
    }
  }
  if (!best) {
    const reasons = results.map((r) => (r as PromiseRejectedResult).reason as unknown);
    if (!reasons.some(isTransient) || signal?.aborted) throw reasons[0];
    return fetchVerifiedPointer(anyMirror, channel, anchor, stored, started, signal);
  }
  const twin = valid.find(
    (v) =>
      v.pointer.body.serial === best.pointer.body.serial &&
      v.pointer.body.manifest.hash !== best.pointer.body.manifest.hash,
  );
  if (twin) {
    throw new FerryError(
      "E_SIGNATURE",
      `Mirrors ${bases[best.index]} and ${bases[twin.index]} serve different releases under the same serial ${best.pointer.body.serial} of channel '${channel}': they are not copies of one repository, or a release key signed two releases. Check the mirror configuration.`,
      { channel, serial: best.pointer.body.serial },
    );
  }
  return { pointer: best.pointer, root: best.root, releaseKeysRotated: best.releaseKeysRotated };
}
