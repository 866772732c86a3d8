/**
 * The one retry and failover policy of Ferry, used by every client fetch (pointer, roots, manifest, tree
 * objects, pack ranges, deltas) and by the publisher's uploads. It sits around the Transport: a request
 * is one attempt; a failed attempt is classified, then the next attempt goes to another source (mirror)
 * at once, or to the same sources after a backoff, until `maxAttempts` rounds are spent. The final error
 * names the object and every source tried.
 */
import { FerryError, isFerryError } from "../../core/errors.js";

/** HTTP statuses worth retrying: the request may succeed later. */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/**
 * A failure that may not happen again: a network error, a transient HTTP status, or one request that
 * was too slow (E_TIMEOUT of scope "request"; an operation's deadline is final).
 */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof FerryError)) return false;
  if (error.code === "E_NETWORK") return true;
  if (error.code === "E_TIMEOUT") return error.data.scope === "request";
  return (
    error.code === "E_HTTP" && typeof error.data.status === "number" && isTransientStatus(error.data.status)
  );
}

/**
 * How a failed attempt counts. "transient": try again. "corrupt": the source sent bytes that are not the
 * object named by hash (flipped bit, cut or mangled range answer): for a content-addressed object this is
 * a transport fault, tried again like a transient one, never accepted. "permanent": give up on the source.
 */
export type FaultClass = "transient" | "corrupt" | "permanent";

/** Codes that, for a content-addressed object, mean the bytes were damaged on the way. */
const CORRUPTION_CODES: readonly string[] = ["E_HASH_MISMATCH", "E_RANGE", "E_FORMAT"];

/**
 * A source that sent more bytes than the object or range holds (E_TOO_LARGE, an E_RANGE with data
 * `overrun`) is not asked for that object again: each such answer costs a read, so the bytes a lying
 * server makes the client read stay bounded by one overrun per source.
 */
export function classify(error: unknown, contentAddressed: boolean): FaultClass {
  if (isTransient(error)) return "transient";
  if (!contentAddressed || !isFerryError(error) || error.data.overrun === true) return "permanent";
  return CORRUPTION_CODES.includes(error.code) ? "corrupt" : "permanent";
}

/** The longest Retry-After Ferry waits for; a server asking for more fails the request at once. */
export const MAX_RETRY_AFTER_MS = 60_000;

/** Exponential backoff (200 ms doubling, capped at 5 s) between attempts. */
export function backoffMs(attempt: number): number {
  return Math.min(5000, 200 * 2 ** (attempt - 1));
}

/**
 * How long to wait before attempt `attempt + 1` after `error`: the server's Retry-After when it sent one
 * (undefined, i.e. give up now, when that exceeds MAX_RETRY_AFTER_MS), else exponential backoff.
 */
export function retryDelayMs(
  attempt: number,
  error: FerryError,
  backoff: (attempt: number) => number = backoffMs,
): number | undefined {
  const asked = error.data.retryAfterMs;
  if (typeof asked !== "number") return backoff(attempt);
  return asked <= MAX_RETRY_AFTER_MS ? asked : undefined;
}

export interface RetryPolicy {
  /** Rounds over the sources (with one source: attempts). */
  readonly maxAttempts: number;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly signal?: AbortSignal | undefined;
  /** Backoff before round n+1 when the server did not say (default backoffMs). */
  readonly backoffMs?: ((attempt: number) => number) | undefined;
  readonly onRetry?: (attempt: number, delayMs: number, error: FerryError) => void;
}

/** What to do after a source failed for an object: try the next source now, back off and retry, or give up. */
export type FailoverStep = "next" | "retry" | "fail";

/** The object one retried operation fetches (or stores), and where from. */
export interface RetryTarget {
  /** Names the object in the final error, e.g. "release manifest" or "pack 3f…". */
  readonly what: string;
  /** Bytes checked against a hash: a mismatch is a transport fault (see classify). */
  readonly contentAddressed: boolean;
  /** The source the next attempt uses (a URL or a store path). */
  source(): string;
  /** After a failed attempt; default: "fail" when permanent, else "retry". */
  failover?(error: FerryError, fault: FaultClass): FailoverStep;
  succeeded?(): void;
}

/** Runs `work` against the target's current source until it succeeds or the policy gives up. */
export async function retrying<T>(
  policy: RetryPolicy,
  target: RetryTarget,
  work: (source: string, attempt: number) => Promise<T>,
): Promise<T> {
  const tried: { source: string; code: string }[] = [];
  for (let attempt = 1; ;) {
    const source = target.source();
    try {
      const result = await work(source, attempt);
      target.succeeded?.();
      return result;
    } catch (error) {
      // Cancellation and the operation's deadline end the work at once, unchanged.
      if (!isFerryError(error) || policy.signal?.aborted) throw error;
      tried.push({ source, code: error.code });
      const fault = classify(error, target.contentAddressed);
      const step = target.failover ? target.failover(error, fault) : fault === "permanent" ? "fail" : "retry";
      if (step === "next") continue; // another mirror, in the same round: no backoff
      if (step === "fail" || attempt >= policy.maxAttempts) throw exhausted(target.what, tried, error);
      const delayMs = retryDelayMs(attempt, error, policy.backoffMs);
      if (delayMs === undefined) throw exhausted(target.what, tried, error);
      policy.onRetry?.(attempt, delayMs, error);
      await policy.sleep(delayMs, policy.signal);
      attempt++;
    }
  }
}

/** Runs `work` (one source) until it succeeds, fails for good, or attempts run out. */
export async function withRetries<T>(policy: RetryPolicy, work: () => Promise<T>): Promise<T> {
  return retrying(policy, { what: "the request", contentAddressed: false, source: () => "" }, work);
}

/**
 * The last error, its message extended by every source tried (when there was more than one attempt),
 * so the report names the object and all of them; the code stays the last failure's.
 */
function exhausted(what: string, tried: readonly { source: string; code: string }[], last: FerryError) {
  if (tried.length <= 1) return last;
  const sources = tried.map((t) => `${t.source || "(same source)"} ${t.code}`).join("; ");
  return new FerryError(
    last.code,
    `${last.message} Gave up on the ${what} after ${tried.length} attempts: ${sources}.`,
    { ...last.data, attempts: tried.length, sources },
    { cause: last },
  );
}

/** Codes of signed metadata that failed verification: a damaged transfer looks exactly like a forgery. */
const VERIFICATION_CODES: readonly string[] = [
  "E_SIGNATURE",
  "E_FORMAT",
  "E_UNSUPPORTED_FORMAT",
  "E_HASH_MISMATCH",
];

/**
 * Fetch-and-verify of signed metadata (the pointer with its root walk): one that fails verification is
 * fetched and verified again, and never accepted unverified. `fingerprint` tells what bytes the last
 * attempt read: the first failure is re-fetched at once; when the same bytes come back, the failure is
 * the document's own (a wrong key, a forgery, a stale root) and ends at once; different bytes mean
 * damage on the way, retried with backoff up to `maxAttempts`. Network failures are not retried here:
 * each request inside `work` already went through the policy.
 */
export function retryingVerification<T>(
  policy: RetryPolicy,
  what: string,
  source: () => string,
  work: () => Promise<T>,
  fingerprint: () => string,
): Promise<T> {
  let previous: string | undefined;
  return retrying(
    policy,
    {
      what,
      contentAddressed: false,
      source,
      failover: (error) => {
        if (!VERIFICATION_CODES.includes(error.code)) return "fail";
        const read = fingerprint();
        const first = previous === undefined;
        const same = read === previous;
        previous = read;
        return first ? "next" : same ? "fail" : "retry";
      },
    },
    work,
  );
}
