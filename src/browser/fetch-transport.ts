import { FerryError } from "../core/errors.js";
import type { Transport, TransportRequest, TransportResponse } from "../ports/transport.js";

/**
 * The Transport port over the browser's fetch. Requests carry only CORS-safelisted headers (a single
 * `Range: bytes=N-M` is one), so a repository on another origin needs no preflight; the host must send
 * Access-Control-Allow-Origin and expose Content-Range (docs/HOSTING.md, docs/WEB.md).
 *
 * Every request bypasses the HTTP cache (`cache: "no-store"`): the runtime keeps what it needs in
 * OPFS/IndexedDB itself, and the HTTP cache only adds ways to be wrong. Content-addressed objects are
 * immutable for a year, so a damaged answer once cached would be served again to every retry and every
 * later update (E_HASH_MISMATCH for good, even after the host is repaired). Pointers are mutable, and
 * revalidating them is not enough: nginx's ETag and Last-Modified are mtime seconds (+ size), so a
 * pointer replaced within one second by one of the same size answers 304 and the browser would hand back
 * the stale one (E_ROLLBACK, or a missed release). Pointers are under 1 KiB: always fetch them whole.
 */
export const fetchTransport: Transport = {
  async get(url: string, request: TransportRequest = {}): Promise<TransportResponse> {
    let response: Response;
    try {
      response = await fetch(url, {
        headers: request.headers ?? {},
        ...(request.signal ? { signal: request.signal } : {}),
        cache: "no-store",
        credentials: "omit",
        redirect: "follow",
      });
    } catch (cause) {
      if (request.signal?.aborted) throw abortedError(request.signal, url);
      // fetch reports a CORS refusal and a dead server alike, as a TypeError without detail.
      throw new FerryError(
        "E_NETWORK",
        `GET ${url} failed (${(cause as Error).message}): the server is unreachable, or it does not allow this origin (CORS: Access-Control-Allow-Origin, exposed Content-Range). See docs/WEB.md "Hosting".`,
        { url },
      );
    }
    const body = response.body;
    return {
      status: response.status,
      url: response.url || url,
      header: (name) => response.headers.get(name) ?? undefined,
      body: {
        async *[Symbol.asyncIterator]() {
          if (!body) return;
          const reader = body.getReader();
          try {
            for (;;) {
              let step: ReadableStreamReadResult<Uint8Array>;
              try {
                step = await reader.read();
              } catch (cause) {
                if (request.signal?.aborted) throw abortedError(request.signal, url);
                throw new FerryError(
                  "E_NETWORK",
                  `The download of ${url} broke off (${(cause as Error).message}).`,
                  { url },
                );
              }
              if (step.done) return;
              yield step.value;
            }
          } finally {
            reader.releaseLock();
          }
        },
      },
      cancel: async () => {
        await body?.cancel().catch(() => undefined);
      },
    };
  },
};

function abortedError(signal: AbortSignal, url: string): FerryError {
  const reason: unknown = signal.reason;
  if (reason instanceof FerryError) return reason;
  return new FerryError("E_ABORTED", `The request for ${url} was cancelled.`, { url });
}
