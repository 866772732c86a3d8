import { FerryError } from "../core/errors.js";
import type { TransportResponse } from "../ports/transport.js";

/** HTTP statuses worth retrying: the request may succeed later. */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

export function isTransient(error: unknown): boolean {
  if (!(error instanceof FerryError)) return false;
  if (error.code === "E_NETWORK") return true;
  return (
    error.code === "E_HTTP" && typeof error.data.status === "number" && isTransientStatus(error.data.status)
  );
}

/** The longest Retry-After Ferry waits for; a server asking for more fails the request at once. */
export const MAX_RETRY_AFTER_MS = 60_000;

/** Retry-After (RFC 9110 §10.2.3) in ms: delay-seconds or an HTTP-date; undefined when absent or invalid. */
export function parseRetryAfter(value: string | undefined, now: Date): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d{1,10}$/.test(text)) return Number(text) * 1000;
  // IMF-fixdate and RFC 850 dates end in GMT (asctime dates are not accepted: servers must not send them).
  if (!/^[A-Za-z]{3,9},? .*GMT$/.test(text)) return undefined;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now.getTime());
}

export function httpError(url: string, status: number, what: string, retryAfterMs?: number): FerryError {
  const hint =
    status === 404
      ? "Check the repository URL and channel; the object may not be published yet."
      : isTransientStatus(status)
        ? retryAfterMs === undefined
          ? "The server is failing; retry later."
          : `The server asks to retry after ${Math.ceil(retryAfterMs / 1000)} s.`
        : "Check the server configuration.";
  return new FerryError("E_HTTP", `Fetching ${what} from ${url} failed with HTTP ${status}. ${hint}`, {
    url,
    status,
    object: what,
    retryAfterMs,
  });
}

/**
 * How long to wait before attempt `attempt + 1` after `error`: the server's Retry-After when it sent one
 * (undefined, i.e. give up now, when that exceeds MAX_RETRY_AFTER_MS), else exponential backoff.
 */
export function retryDelayMs(attempt: number, error: FerryError): number | undefined {
  const asked = error.data.retryAfterMs;
  if (typeof asked !== "number") return backoffMs(attempt);
  return asked <= MAX_RETRY_AFTER_MS ? asked : undefined;
}

/** Reads a whole body, enforcing `cap` while streaming (endless data fails fast, never fills memory). */
export async function readCapped(
  response: TransportResponse,
  cap: number,
  what: string,
  onPart?: (part: Uint8Array) => void,
): Promise<Uint8Array> {
  const declared = Number(response.header("content-length") ?? Number.NaN);
  if (declared > cap) {
    await response.cancel();
    throw tooLarge(response.url, what, cap);
  }
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const part of response.body) {
    total += part.length;
    onPart?.(part);
    if (total > cap) {
      await response.cancel();
      throw tooLarge(response.url, what, cap);
    }
    parts.push(part);
  }
  if (Number.isFinite(declared) && declared !== total) {
    throw new FerryError(
      "E_NETWORK",
      `The response for ${what} from ${response.url} ended after ${total} of ${declared} bytes.`,
      { url: response.url, got: total, expected: declared },
    );
  }
  return Buffer.concat(parts, total);
}

function tooLarge(url: string, what: string, cap: number): FerryError {
  return new FerryError(
    "E_TOO_LARGE",
    `${what} from ${url} is larger than the ${cap} bytes allowed; the server is sending something other than what was signed.`,
    { url, cap, object: what },
  );
}

export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly signal?: AbortSignal | undefined;
  readonly onRetry?: (attempt: number, delayMs: number, error: FerryError) => void;
}

/** Exponential backoff (200 ms doubling, capped at 5 s) between attempts. */
export function backoffMs(attempt: number): number {
  return Math.min(5000, 200 * 2 ** (attempt - 1));
}

/** Runs `work` until it succeeds, fails with a non-transient error, or attempts run out. */
export async function withRetries<T>(policy: RetryPolicy, work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!isTransient(error) || attempt >= policy.maxAttempts || policy.signal?.aborted) throw error;
      const delayMs = retryDelayMs(attempt, error as FerryError);
      if (delayMs === undefined) throw error;
      policy.onRetry?.(attempt, delayMs, error as FerryError);
      await policy.sleep(delayMs, policy.signal);
    }
  }
}
