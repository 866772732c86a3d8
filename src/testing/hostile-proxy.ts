/**
 * A loopback reverse proxy for tests that misbehaves on purpose: drops range support, fails requests,
 * cuts connections mid-body, adds latency. Everything it does not break passes through unchanged.
 *
 * Counters for `failFirst` and `truncateCount` start from the latest behaviour (setBehaviour resets them);
 * `stats` accumulate over the proxy's lifetime.
 */
import {
  Agent,
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request,
  type ServerResponse,
} from "node:http";
import { setTimeout as sleep } from "node:timers/promises";

export interface ProxyBehaviour {
  /** "none": strip Range (a host without range support); "no-multi": strip multi-range Range headers (S3/R2). */
  ranges?: "pass" | "no-multi" | "none";
  /** Answer the first n requests with `failStatus` without forwarding them. */
  failFirst?: number;
  /** Default 503. */
  failStatus?: number;
  /** Cut the connection after this many body bytes (headers keep the original Content-Length). */
  truncateAfterBytes?: number;
  /** How many responses longer than truncateAfterBytes are cut; default 1. */
  truncateCount?: number;
  /** Wait this long before handling each request. */
  delayMs?: number;
}

export interface ProxyStats {
  requests: number;
  /** The Range header of every request as received (before any stripping), "" when absent. */
  rangeHeaders: string[];
  /** Body bytes sent to clients. */
  bytesSent: number;
  paths: string[];
}

export interface HostileProxy {
  url: string;
  close(): Promise<void>;
  stats: ProxyStats;
  setBehaviour(b: ProxyBehaviour): void;
}

// RFC 9110 §7.6.1: connection-specific fields a proxy must not forward.
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

function endToEnd(headers: IncomingHttpHeaders, drop: readonly string[] = []): IncomingHttpHeaders {
  const listed = String(headers.connection ?? "")
    .split(",")
    .map((s) => s.trim().toLowerCase());
  const out: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || listed.includes(name) || drop.includes(name)) continue;
    out[name] = value;
  }
  return out;
}

export async function startHostileProxy(upstream: string, behaviour: ProxyBehaviour): Promise<HostileProxy> {
  const base = new URL(upstream);
  if (base.protocol !== "http:") throw new Error(`hostile proxy: upstream must be http://, got ${upstream}`);
  const basePath = base.pathname.replace(/\/+$/, "");
  const agent = new Agent({ keepAlive: true });
  const stats: ProxyStats = { requests: 0, rangeHeaders: [], bytesSent: 0, paths: [] };
  let current: ProxyBehaviour = { ...behaviour };
  let failed = 0;
  let truncated = 0;

  const fail = (res: ServerResponse, status: number): void => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(status, { "Content-Type": "text/plain", "Content-Length": 0, "Cache-Control": "no-store" });
    res.end();
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const b = current;
    stats.requests++;
    stats.paths.push(req.url ?? "");
    const range = req.headers.range ?? "";
    stats.rangeHeaders.push(range);
    if (b.delayMs !== undefined && b.delayMs > 0) await sleep(b.delayMs);
    if (failed < (b.failFirst ?? 0)) {
      failed++;
      fail(res, b.failStatus ?? 503);
      return;
    }

    const stripRange = b.ranges === "none" || (b.ranges === "no-multi" && range.includes(","));
    const headers = endToEnd(req.headers, stripRange ? ["host", "range", "if-range"] : ["host"]);
    // Set once we cut the body on purpose; later upstream errors must not destroy the response early.
    let dropped = false;
    const upstreamReq = request({
      agent,
      host: base.hostname,
      port: base.port,
      method: req.method ?? "GET",
      path: basePath + (req.url ?? "/"),
      headers,
    });
    res.on("close", () => {
      if (!res.writableFinished) upstreamReq.destroy(); // the client went away (or we cut it): stop fetching
    });
    upstreamReq.on("error", () => {
      if (!dropped) fail(res, 502);
    });
    upstreamReq.on("response", (upstreamRes) => {
      upstreamRes.on("error", () => {
        if (!dropped) res.destroy();
      });
      const declared = upstreamRes.headers["content-length"];
      const length = declared === undefined ? undefined : Number(declared);
      const limit = b.truncateAfterBytes;
      // Decided when the headers arrive so concurrent responses cannot both take the last slot.
      let cut = false;
      const status = upstreamRes.statusCode ?? 502;
      const hasBody = req.method !== "HEAD" && status !== 204 && status !== 304 && status >= 200;
      if (
        hasBody &&
        limit !== undefined &&
        length !== undefined &&
        length > limit &&
        truncated < (b.truncateCount ?? 1)
      ) {
        truncated++;
        cut = true;
      }
      res.writeHead(status, upstreamRes.statusMessage, endToEnd(upstreamRes.headers));
      if (cut) res.flushHeaders(); // the headers go out even when k is 0
      let sent = 0;
      upstreamRes.on("data", (chunk: Buffer) => {
        if (dropped) return;
        // Without a Content-Length the cut is decided once the body actually exceeds the limit.
        if (hasBody && limit !== undefined && !cut && length === undefined && sent + chunk.length > limit) {
          if (truncated < (b.truncateCount ?? 1)) {
            truncated++;
            cut = true;
          }
        }
        if (cut && limit !== undefined && sent + chunk.length > limit) {
          const head = chunk.subarray(0, limit - sent);
          sent += head.length;
          stats.bytesSent += head.length;
          dropped = true;
          upstreamRes.destroy();
          if (head.length > 0) res.write(head);
          // end() flushes what was written, in order, before closing; the client then sees fewer bytes
          // than Content-Length, exactly as with a dropped connection.
          const socket = res.socket;
          socket?.end(() => socket.destroy());
          return;
        }
        sent += chunk.length;
        stats.bytesSent += chunk.length;
        if (!res.write(chunk)) {
          upstreamRes.pause();
          res.once("drain", () => upstreamRes.resume());
        }
      });
      upstreamRes.on("end", () => res.end());
      upstreamRes.on("close", () => {
        if (!upstreamRes.complete && !dropped) res.destroy(); // upstream died mid-body: pass the failure on
      });
    });
    req.pipe(upstreamReq);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === "string")
    throw new Error("unreachable: TCP server without a port");

  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${address.port}/`,
    stats,
    setBehaviour(next: ProxyBehaviour) {
      current = { ...next };
      failed = 0;
      truncated = 0;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      });
      return closing;
    },
  };
}
