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
