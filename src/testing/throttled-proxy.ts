/**
 * A loopback HTTP proxy for tests that delivers response bodies slowly (a fixed number of bytes per
 * tick), so a test can act in the middle of a download: watch its progress, pause or cancel it.
 * Status and headers pass unchanged; a client that goes away stops the delivery.
 */
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ThrottledProxy {
  /** Base URL with a trailing slash. */
  readonly url: string;
  /** Body bytes delivered to clients so far. */
  readonly bytesSent: () => number;
  close(): Promise<void>;
}

export interface ThrottleOptions {
  /** Bytes sent per tick (default 32 KiB). */
  readonly bytesPerTick?: number;
  /** Milliseconds between ticks (default 50). */
  readonly tickMs?: number;
}

export async function startThrottledProxy(
  upstreamUrl: string,
  options: ThrottleOptions = {},
): Promise<ThrottledProxy> {
  const upstream = new URL(upstreamUrl);
  const perTick = options.bytesPerTick ?? 32 * 1024;
  const tickMs = options.tickMs ?? 50;
  let sent = 0;
  const server: Server = createServer((req, res) => {
    const headers = { ...req.headers, host: upstream.host };
    const forward = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        path: req.url,
        method: req.method,
        headers,
        agent: false,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        let closed = false;
        res.on("close", () => {
          closed = true;
          answer.destroy();
        });
        void (async () => {
          for await (const data of answer as AsyncIterable<Buffer>) {
            for (let at = 0; at < data.length && !closed; at += perTick) {
              const slice = data.subarray(at, at + perTick);
              sent += slice.length;
              res.write(slice);
              await new Promise((resolve) => setTimeout(resolve, tickMs));
            }
            if (closed) return;
          }
          res.end();
        })().catch(() => res.destroy());
      },
    );
    forward.on("error", () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${upstream.pathname.endsWith("/") ? upstream.pathname : `${upstream.pathname}/`}`,
    bytesSent: () => sent,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
