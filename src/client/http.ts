import { FerryError } from "../core/errors.js";
import type { TransportResponse } from "../ports/transport.js";

/** HTTP statuses worth retrying: the request may succeed later. */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

export function isTransient(error: unknown): boolean {
  if (!(error instanceof FerryError)) return false;
  if (error.code === "E_NETWORK") return true;
  return error.code === "E_HTTP" && typeof error.data.status === "number" && isTransientStatus(error.data.status);
}

export function httpError(url: string, status: number, what: string): FerryError {
  const hint =
    status === 404
      ? "Check the repository URL and channel; the object may not be published yet."
      : isTransientStatus(status)
        ? "The server is failing; retry later."
        : "Check the server configuration.";
  return new FerryError("E_HTTP", `Fetching ${what} from ${url} failed with HTTP ${status}. ${hint}`, { url, status, object: what });
}

/** Reads a whole body, enforcing `cap` while streaming (endless data fails fast, never fills memory). */
export async function readCapped(response: TransportResponse, cap: number, what: string, onBytes?: (n: number) => void): Promise<Uint8Array> {
  const declared = Number(response.header("content-length") ?? Number.NaN);
  if (declared > cap) {
    await response.cancel();
    throw tooLarge(response.url, what, cap);
  }
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const part of response.body) {
    total += part.length;
    onBytes?.(part.length);
    if (total > cap) {
      await response.cancel();
      throw tooLarge(response.url, what, cap);
    }
    parts.push(part);
  }
  if (Number.isFinite(declared) && declared !== total) {
    throw new FerryError("E_NETWORK", `The response for ${what} from ${response.url} ended after ${total} of ${declared} bytes.`, { url: response.url, got: total, expected: declared });
  }
  return Buffer.concat(parts, total);
}

function tooLarge(url: string, what: string, cap: number): FerryError {
  return new FerryError("E_TOO_LARGE", `${what} from ${url} is larger than the ${cap} bytes allowed; the server is sending something other than what was signed.`, { url, cap, object: what });
}
