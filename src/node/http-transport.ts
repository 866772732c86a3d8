import { FerryError } from "../core/errors.js";
import type { Transport, TransportRequest, TransportResponse } from "../ports/transport.js";

/** HTTP(S) transport on Node's built-in fetch (undici). Redirects are followed by fetch (max 20). */
export class HttpTransport implements Transport {
  async get(url: string, request: TransportRequest = {}): Promise<TransportResponse> {
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { "accept-encoding": "identity", ...request.headers },
        ...(request.signal ? { signal: request.signal } : {}),
      });
    } catch (cause) {
      if (request.signal?.aborted)
        throw new FerryError("E_ABORTED", `Download of ${url} was cancelled.`, { url }, { cause });
      const detail = (cause as { cause?: { code?: string } }).cause?.code ?? (cause as Error).message;
      throw new FerryError(
        "E_NETWORK",
        `Could not reach ${url} (${detail}). Check the network and the repository URL.`,
        { url, detail },
        { cause },
      );
    }
    const body = response.body;
    return {
      status: response.status,
      url: response.url || url,
      header: (name) => response.headers.get(name) ?? undefined,
      body: (async function* () {
        if (!body) return;
        try {
          for await (const chunk of body) yield chunk as Uint8Array;
        } catch (cause) {
          if (request.signal?.aborted)
            throw new FerryError("E_ABORTED", `Download of ${url} was cancelled.`, { url }, { cause });
          throw new FerryError(
            "E_NETWORK",
            `The connection to ${url} broke during the download (${(cause as Error).message}).`,
            { url },
            { cause },
          );
        }
      })(),
      cancel: async () => {
        await body?.cancel().catch(() => undefined);
      },
    };
  }
}
