import { concatBytes } from "../../core/bytes.js";
import { FerryError } from "../../core/errors.js";
import type { TransportResponse } from "../../ports/transport.js";

// The retry policy lives in retry.ts; these names stay importable from here.
export {
  backoffMs,
  isTransient,
  isTransientStatus,
  MAX_RETRY_AFTER_MS,
  type RetryPolicy,
  retryDelayMs,
  withRetries,
} from "./retry.js";
import { isTransientStatus } from "./retry.js";

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
  return concatBytes(parts, total);
}

function tooLarge(url: string, what: string, cap: number): FerryError {
  return new FerryError(
    "E_TOO_LARGE",
    `${what} from ${url} is larger than the ${cap} bytes allowed; the server is sending something other than what was signed.`,
    { url, cap, object: what },
  );
}
