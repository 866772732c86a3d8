/**
 * A second loopback origin in front of a repository server, adding the CORS headers a web game's CDN
 * must send (docs/WEB.md "Hosting"): Allow-Origin, and Content-Range/ETag exposed to scripts. Stopping
 * it takes the repository offline for the page while the repository server stays up.
 */
import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";

export interface CorsProxy {
  /** Base URL with a trailing slash. */
  readonly url: string;
  /** Requests seen, as "METHOD path range". */
  readonly log: string[];
  close(): Promise<void>;
}

const CORS = {
  "access-control-allow-origin": "*",
  "access-control-expose-headers": "content-range, content-length, etag, accept-ranges",
};

export async function corsProxy(upstream: string): Promise<CorsProxy> {
  const target = new URL(upstream);
  const log: string[] = [];
  const server = createServer((req, res) => {
    log.push(`${req.method} ${req.url} ${req.headers.range ?? ""}`.trim());
    if (req.method === "OPTIONS") {
      res.writeHead(204, {
        ...CORS,
        "access-control-allow-headers": "range",
        "access-control-allow-methods": "GET",
      });
      res.end();
      return;
    }
    const headers: Record<string, string> = {};
    for (const name of ["range", "if-none-match", "if-modified-since"]) {
      const value = req.headers[name];
      if (typeof value === "string") headers[name] = value;
    }
    const forward = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: `${target.pathname.replace(/\/$/, "")}${req.url}`,
        headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, { ...answer.headers, ...CORS });
        answer.pipe(res);
      },
    );
    forward.on("error", () => res.writeHead(502, CORS).end());
    forward.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
