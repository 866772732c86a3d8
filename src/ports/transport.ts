/** The network port: one GET with optional headers and an abort signal. */
export interface TransportResponse {
  readonly status: number;
  /** The final URL after redirects. */
  readonly url: string;
  header(name: string): string | undefined;
  readonly body: AsyncIterable<Uint8Array>;
  /** Releases the connection when the body will not be read to the end. */
  cancel(): Promise<void>;
}

export interface TransportRequest {
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
}

export interface Transport {
  get(url: string, request?: TransportRequest): Promise<TransportResponse>;
}

/** Limits a transport puts on each request (the Node HTTP transport honours them: http-transport.ts). */
export interface TransportLimits {
  /** A request fails (as a retryable E_NETWORK) when no byte arrives for this long. Default 30 s. */
  readonly idleTimeoutMs?: number;
  /**
   * The slowest transfer accepted: a body that delivered fewer than this many bytes per second over a
   * whole `rateWindowMs` fails the request with E_TIMEOUT (scope "request", retried). Default 1024 B/s;
   * 0 turns the floor off.
   */
  readonly minBytesPerSecond?: number;
  /** The window over which the minimum rate is measured. Default 20 s. */
  readonly rateWindowMs?: number;
  /**
   * The longest one request may take, headers and body (E_TIMEOUT, scope "request"). Default 10 min;
   * 0 turns it off. A pack range is at most 8 MiB (DEFAULT_COALESCE), a whole pack more: raise it for
   * whole-pack downloads over slow links.
   */
  readonly requestTimeoutMs?: number;
}
