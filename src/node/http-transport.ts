import type { TransportLimits } from "../ports/transport.js";
import { FerryError } from "../core/errors.js";
import type { Transport, TransportRequest, TransportResponse } from "../ports/transport.js";

export interface HttpTransportOptions extends TransportLimits {
  /** Redirects followed per request. Default 5. */
  readonly maxRedirects?: number;
  /**
   * Headers sent with every request, e.g. Authorization for a private repository. Credential headers
   * are dropped when a redirect leaves the origin.
   */
  readonly headers?: Readonly<Record<string, string>>;
}

export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
export const DEFAULT_MIN_BYTES_PER_SECOND = 1024;
export const DEFAULT_RATE_WINDOW_MS = 20_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 600_000;

/** Headers that carry credentials: never forwarded to another origin on redirect. */
const CREDENTIAL_HEADERS = ["authorization", "cookie", "proxy-authorization"];

/**
 * HTTP(S) transport on Node's built-in fetch (undici). Redirects are followed here, not by fetch, so
 * their number is capped and credentials never cross origins; a stalled connection times out.
 */
export class HttpTransport implements Transport {
  private readonly idleTimeoutMs: number;
  private readonly minBytesPerSecond: number;
  private readonly rateWindowMs: number;
  private readonly requestTimeoutMs: number;
  private readonly maxRedirects: number;
  private readonly headers: Readonly<Record<string, string>>;

  constructor(options: HttpTransportOptions = {}) {
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.minBytesPerSecond = options.minBytesPerSecond ?? DEFAULT_MIN_BYTES_PER_SECOND;
    this.rateWindowMs = options.rateWindowMs ?? DEFAULT_RATE_WINDOW_MS;
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.maxRedirects = options.maxRedirects ?? 5;
    this.headers = options.headers ?? {};
  }

  async get(url: string, request: TransportRequest = {}): Promise<TransportResponse> {
    const idle = new AbortController();
    // Set when the request is too slow (rate floor or deadline): the reason reported instead of a stall.
    let tooSlow: FerryError | undefined;
    const slow = (error: FerryError) => {
      tooSlow ??= error;
      idle.abort();
    };
    const signal = request.signal ? AbortSignal.any([request.signal, idle.signal]) : idle.signal;
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => idle.abort(), this.idleTimeoutMs).unref();
    };
    // The rate floor: every window, the bytes of that window must reach minBytesPerSecond x window.
    let windowBytes = 0;
    const rate =
      this.minBytesPerSecond > 0
        ? setInterval(() => {
            const floor = (this.minBytesPerSecond * this.rateWindowMs) / 1000;
            if (windowBytes < floor) {
              slow(
                new FerryError(
                  "E_TIMEOUT",
                  `${url} sent ${windowBytes} bytes in ${this.rateWindowMs / 1000} s, under the minimum of ${this.minBytesPerSecond} B/s; the server or network is crawling. Ferry retries, then fails; raise minBytesPerSecond or the window only for very slow links.`,
                  {
                    url,
                    scope: "request",
                    bytes: windowBytes,
                    windowMs: this.rateWindowMs,
                    minBytesPerSecond: this.minBytesPerSecond,
                  },
                ),
              );
            }
            windowBytes = 0;
          }, this.rateWindowMs).unref()
        : undefined;
    const deadline =
      this.requestTimeoutMs > 0
        ? setTimeout(
            () =>
              slow(
                new FerryError(
                  "E_TIMEOUT",
                  `${url} did not finish within the request deadline of ${this.requestTimeoutMs / 1000} s. Ferry retries, then fails; raise requestTimeoutMs for very large objects on slow links.`,
                  { url, scope: "request", requestTimeoutMs: this.requestTimeoutMs },
                ),
              ),
            this.requestTimeoutMs,
          ).unref()
        : undefined;
    const disarm = () => {
      clearTimeout(timer);
      clearInterval(rate);
      clearTimeout(deadline);
    };
    const fail = (cause: unknown, during: string): FerryError => {
      disarm();
      if (request.signal?.aborted) {
        // An operation's deadline (or a caller's typed reason) is reported as itself.
        const reason: unknown = request.signal.reason;
        if (reason instanceof FerryError) return reason;
        return new FerryError("E_ABORTED", `Download of ${url} was cancelled.`, { url }, { cause });
      }
      if (tooSlow) return new FerryError(tooSlow.code, tooSlow.message, tooSlow.data, { cause });
      if (idle.signal.aborted) {
        return new FerryError(
          "E_NETWORK",
          `${url} sent nothing for ${this.idleTimeoutMs / 1000} s ${during}; the connection is stalled.`,
          { url },
          { cause },
        );
      }
      const detail = (cause as { cause?: { code?: string } }).cause?.code ?? (cause as Error).message;
      return new FerryError(
        "E_NETWORK",
        `Network error ${during} ${url} (${detail}). Check the network and the repository URL.`,
        { url, detail },
        { cause },
      );
    };

    let current = url;
    let headers: Record<string, string> = {
      ...this.headers,
      ...request.headers,
      "accept-encoding": "identity",
    };
    let response: Response;
    for (let redirects = 0; ; redirects++) {
      arm();
      try {
        response = await fetch(current, { headers, signal, redirect: "manual" });
      } catch (cause) {
        throw fail(cause, "connecting to");
      }
      const location = response.headers.get("location");
      if (response.status < 300 || response.status >= 400 || response.status === 304 || !location) break;
      await response.body?.cancel().catch(() => undefined);
      if (redirects >= this.maxRedirects) {
        disarm();
        throw new FerryError(
          "E_HTTP",
          `${url} redirected more than ${this.maxRedirects} times; check the hosting configuration.`,
          { url, status: response.status },
        );
      }
      const next = new URL(location, current);
      if (next.protocol !== "http:" && next.protocol !== "https:") {
        disarm();
        throw new FerryError(
          "E_HTTP",
          `${current} redirected to a ${next.protocol} URL, which Ferry does not follow.`,
          { url: current, location },
        );
      }
      if (next.origin !== new URL(current).origin) {
        headers = Object.fromEntries(
          Object.entries(headers).filter(([name]) => !CREDENTIAL_HEADERS.includes(name.toLowerCase())),
        );
      }
      current = next.toString();
    }

    // fetch would decode gzip/br (even stacked) transparently: a small body could expand without bound
    // before any cap applies. Ferry asks for identity, so any other coding is refused undecoded.
    const encoding = (response.headers.get("content-encoding") ?? "identity").trim().toLowerCase();
    if (encoding !== "identity" && encoding !== "") {
      disarm();
      await response.body?.cancel().catch(() => undefined);
      throw new FerryError(
        "E_ENCODING",
        `${current} was sent with Content-Encoding ${JSON.stringify(encoding)}, which Ferry did not ask for (it requests identity). Configure the server or CDN not to compress Ferry's files on the fly.`,
        { url: current, encoding },
      );
    }
    const body = response.body;
    const finalUrl = current;
    return {
      status: response.status,
      url: finalUrl,
      header: (name) => response.headers.get(name) ?? undefined,
      body: (async function* () {
        if (!body) return disarm();
        try {
          for await (const chunk of body) {
            arm();
            windowBytes += (chunk as Uint8Array).length;
            yield chunk as Uint8Array;
          }
        } catch (cause) {
          throw fail(cause, "while downloading");
        } finally {
          disarm();
        }
      })(),
      cancel: async () => {
        disarm();
        await body?.cancel().catch(() => undefined);
      },
    };
  }
}
