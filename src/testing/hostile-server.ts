/**
 * A loopback HTTP server for tests that sits in front of a real repository server and answers each
 * request through a scripted behaviour: pass the upstream answer, rewrite it (status, headers, body),
 * or deliver it badly (cut, stalled, one byte at a time, endless). It listens on two ports, so a
 * behaviour can redirect to another origin and the test can see which headers arrived there.
 */
import { createServer, type IncomingHttpHeaders, request, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type ObjectKind = "pointer" | "manifest" | "pack" | "other";

export interface Exchange {
  readonly method: string;
  /** The request path as received. */
  readonly path: string;
  readonly kind: ObjectKind;
  readonly range: string | undefined;
  readonly headers: IncomingHttpHeaders;
  /** "other" when the request arrived on the second origin. */
  readonly origin: "main" | "other";
  /** Requests of this kind (on any origin) before this one. */
  readonly n: number;
}

export interface Upstream {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** How to deliver an answer. Without a delivery mode the body is sent whole. */
export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  /** Send this many body bytes, then drop the connection. */
  readonly cutAfter?: number;
  /** Send this many body bytes, then nothing more (the connection stays open). */
  readonly stallAfter?: number;
  /** Send one byte every this many ms. */
  readonly paceMs?: number;
  /** After the body, send this filler again and again (until the client goes away). */
  readonly endless?: Buffer;
}

export interface BehaviourContext {
  /** Fetches `path` (default: the request's path) from the repository server with the request's Range. */
  upstream(path?: string, headers?: Record<string, string>): Promise<Upstream>;
  /** Base URLs of both origins, with a trailing slash. */
  readonly url: string;
  readonly otherUrl: string;
}

export type Behaviour = (exchange: Exchange, context: BehaviourContext) => Promise<Reply>;

export interface HostileServer {
  readonly url: string;
  readonly otherUrl: string;
  /** Every exchange, in arrival order. */
  readonly log: Exchange[];
  /** Body bytes written to clients. */
  bytesSent: number;
  setBehaviour(behaviour: Behaviour): void;
  close(): Promise<void>;
}

export function kindOf(path: string): ObjectKind {
  if (/\/channels\/[^/]+\.json$/.test(path)) return "pointer";
  if (/\/manifests\/[0-9a-f]{64}$/.test(path)) return "manifest";
  if (/\/packs\/[0-9a-f]{64}\.pack$/.test(path)) return "pack";
  return "other";
}

/** Forwards a request to the repository server and buffers the whole answer. */
function fetchUpstream(base: URL, path: string, headers: Record<string, string>): Promise<Upstream> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: base.hostname, port: base.port, path, method: "GET", headers, agent: false },
      (res) => {
        const parts: Buffer[] = [];
        res.on("data", (d: Buffer) => parts.push(d));
        res.on("error", reject);
        res.on("end", () => {
          const out: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) {
            if (v !== undefined && k !== "connection" && k !== "keep-alive" && k !== "transfer-encoding")
              out[k] = Array.isArray(v) ? v.join(", ") : v;
          }
          resolve({ status: res.statusCode ?? 502, headers: out, body: Buffer.concat(parts) });
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

export async function startHostileServer(upstreamUrl: string, initial: Behaviour): Promise<HostileServer> {
  const base = new URL(upstreamUrl);
  let behaviour = initial;
  const counts = new Map<ObjectKind, number>();
  const timers = new Set<NodeJS.Timeout>();
  const servers: Server[] = [];
  const state: HostileServer = {
    url: "",
    otherUrl: "",
    log: [],
    bytesSent: 0,
    setBehaviour(next) {
      behaviour = next;
      counts.clear();
      state.log.length = 0;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve());
              server.closeAllConnections();
            }),
        ),
      );
    },
  };

  const write = (res: ServerResponse, data: Buffer): boolean => {
    state.bytesSent += data.length;
    return res.write(data);
  };
  const drop = (res: ServerResponse): void => {
    const socket = res.socket;
    if (socket) socket.end(() => socket.destroy());
  };
  const deliver = (res: ServerResponse, reply: Reply): void => {
    res.writeHead(reply.status, reply.headers);
    res.flushHeaders();
    const gone = () => res.destroyed || res.socket === null || res.socket.destroyed;
    if (reply.cutAfter !== undefined) {
      write(res, reply.body.subarray(0, reply.cutAfter));
      drop(res);
    } else if (reply.stallAfter !== undefined) {
      if (reply.stallAfter > 0) write(res, reply.body.subarray(0, reply.stallAfter));
    } else if (reply.paceMs !== undefined) {
      let at = 0;
      const tick = (): void => {
        if (gone()) return;
        if (at >= reply.body.length) return void res.end();
        write(res, reply.body.subarray(at, ++at));
        const timer = setTimeout(() => {
          timers.delete(timer);
          tick();
        }, reply.paceMs);
        timers.add(timer);
      };
      tick();
    } else if (reply.endless) {
      const filler = reply.endless;
      const pump = (): void => {
        while (!gone()) {
          if (!write(res, filler)) return void res.once("drain", pump);
        }
      };
      if (write(res, reply.body)) pump();
      else res.once("drain", pump);
    } else {
      state.bytesSent += reply.body.length;
      res.end(reply.body);
    }
  };

  const listen = async (origin: "main" | "other"): Promise<string> => {
    const server = createServer((req, res) => {
      const path = req.url ?? "/";
      const kind = kindOf(path);
      const n = counts.get(kind) ?? 0;
      counts.set(kind, n + 1);
      const exchange: Exchange = {
        method: req.method ?? "GET",
        path,
        kind,
        range: req.headers.range,
        headers: req.headers,
        origin,
        n,
      };
      state.log.push(exchange);
      const context: BehaviourContext = {
        url: state.url,
        otherUrl: state.otherUrl,
        upstream: (p = path, headers) =>
          fetchUpstream(
            base,
            base.pathname.replace(/\/+$/, "") + p,
            headers ?? (req.headers.range ? { range: req.headers.range } : {}),
          ),
      };
      behaviour(exchange, context).then(
        (reply) => deliver(res, reply),
        () => res.destroy(),
      );
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  };
  Object.assign(state, { url: await listen("main"), otherUrl: await listen("other") });
  return state;
}

/** The upstream answer, unchanged. */
export const pass: Behaviour = async (_exchange, context) => ({ ...(await context.upstream()) });
