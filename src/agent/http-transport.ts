/**
 * The agent over HTTP on 127.0.0.1 (docs/AGENT.md "Over HTTP"), for engines that only have an HTTP
 * client. Defences for a local endpoint a browser can also reach: every request needs the random token
 * (compared in constant time); the Host must be this loopback address (DNS rebinding); any Origin
 * header is refused (engines send none, a browser page always does); bodies are capped at 1 MiB.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { FerryError } from "../core/errors.js";
import { callMethod, hello } from "./methods.js";
import {
  encode,
  type ErrorBody,
  errorBody,
  MAX_MESSAGE_BYTES,
  ParamReader,
  parseRequest,
} from "./protocol.js";
import type { AgentSession } from "./session.js";

export interface HttpOptions {
  /** Port on 127.0.0.1 (0: any free port). */
  readonly port: number;
}

export interface AgentHttpServer {
  /** http://127.0.0.1:<port>/ */
  readonly url: string;
  readonly token: string;
  /** Resolves when a client called `shutdown`. */
  readonly shutdownRequested: Promise<void>;
  /** Cancels what runs, waits for it, and stops serving. */
  close(): Promise<void>;
}

/** Long-poll timeouts (ms). */
export const DEFAULT_POLL_MS = 25_000;
export const MAX_POLL_MS = 60_000;
/** An SSE comment this often keeps idle connections (and proxies) open. */
const SSE_KEEPALIVE_MS = 15_000;

const STATUS: Partial<Record<string, number>> = {
  E_PROTOCOL: 400,
  E_USAGE: 400,
  E_UNAUTHORIZED: 401,
  E_FORBIDDEN: 403,
  E_NOT_FOUND: 404,
  E_BUSY: 409,
};

const digest = (text: string) => createHash("sha256").update(text).digest();

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) {
    res.end();
    return;
  }
  const text = encode(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, error: unknown, status?: number): void {
  const body: ErrorBody = errorBody(error);
  send(res, status ?? STATUS[body.code] ?? 500, { error: body });
}

/** The request body, at most MAX_MESSAGE_BYTES; undefined (after answering 413) when over. */
async function readBody(req: IncomingMessage, res: ServerResponse): Promise<string | undefined> {
  const tooLarge = () => {
    sendError(
      res,
      new FerryError(
        "E_TOO_LARGE",
        `The request body is over ${MAX_MESSAGE_BYTES} bytes; send a smaller request.`,
        {
          limit: MAX_MESSAGE_BYTES,
        },
      ),
      413,
    );
    // The rest of the body is not read: the connection closes after the answer.
    res.once("finish", () => req.destroy());
    return undefined;
  };
  if (Number(req.headers["content-length"] ?? 0) > MAX_MESSAGE_BYTES) return tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_MESSAGE_BYTES) return tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Serves `session` on 127.0.0.1:<port> until close(). */
export async function serveHttp(session: AgentSession, options: HttpOptions): Promise<AgentHttpServer> {
  const token = randomBytes(32).toString("base64url");
  const tokenDigest = digest(token);
  let requestShutdown!: () => void;
  const shutdownRequested = new Promise<void>((resolve) => {
    requestShutdown = resolve;
  });
  const streams = new Set<ServerResponse>();
  let port = 0;

  const authorized = (req: IncomingMessage): boolean => {
    const auth = req.headers.authorization;
    const given =
      typeof auth === "string" && auth.startsWith("Bearer ")
        ? auth.slice("Bearer ".length).trim()
        : req.headers["x-ferry-token"];
    // Digests have equal lengths, so the comparison time does not depend on where they differ.
    return typeof given === "string" && timingSafeEqual(digest(given), tokenDigest);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => sendError(res, error));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("Cache-Control", "no-store");
    const host = req.headers.host ?? "";
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`)
      return sendError(
        res,
        new FerryError(
          "E_FORBIDDEN",
          `Host ${JSON.stringify(host)} is not this agent's address: use 127.0.0.1:${port} or localhost:${port}.`,
          { host },
        ),
      );
    if (req.headers.origin !== undefined)
      return sendError(
        res,
        new FerryError(
          "E_FORBIDDEN",
          `Requests with an Origin header (${req.headers.origin}) are refused: the agent serves the game, not web pages.`,
          { origin: String(req.headers.origin) },
        ),
      );
    if (!authorized(req))
      return sendError(
        res,
        new FerryError(
          "E_UNAUTHORIZED",
          "Missing or wrong token: send 'Authorization: Bearer <token>' (or 'X-Ferry-Token') with the token the agent printed.",
        ),
      );
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const route = `${req.method} ${url.pathname}`;
    switch (route) {
      case "POST /v1/call":
        return call(req, res);
      case "GET /v1/hello":
        return send(res, 200, hello(session));
      case "GET /v1/events":
        return poll(res, url);
      case "GET /v1/events/stream":
        return stream(req, res, url);
      default:
        return sendError(
          res,
          new FerryError(
            "E_NOT_FOUND",
            `No ${route} here: the agent serves POST /v1/call, GET /v1/hello, GET /v1/events and GET /v1/events/stream.`,
            { path: url.pathname },
          ),
        );
    }
  }

  async function call(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await readBody(req, res);
    if (text === undefined) return;
    const { method, params } = parseRequest(text, "The request body", false);
    if (method === "shutdown") {
      new ParamReader("shutdown", params, []);
      send(res, 200, { result: { ok: true } });
      requestShutdown();
      return;
    }
    const before = session.runningOperation;
    const answer = callMethod(session, method, params);
    // A foreground changing call whose client goes away is cancelled, as when a stdio pipe closes.
    const started = session.runningOperation !== before ? session.runningOperation : undefined;
    const onClose = () => {
      if (started && !res.writableFinished) session.cancelOperation(started);
    };
    res.once("close", onClose);
    try {
      send(res, 200, { result: (await answer) ?? null });
    } catch (error) {
      sendError(res, error);
    } finally {
      res.off("close", onClose);
    }
  }

  async function poll(res: ServerResponse, url: URL): Promise<void> {
    const after = queryInteger(url, "after", 0, Number.MAX_SAFE_INTEGER, 0);
    const timeout = queryInteger(url, "timeout", 0, MAX_POLL_MS, DEFAULT_POLL_MS);
    const gone = new AbortController();
    res.once("close", () => gone.abort());
    const page = await session.log.wait(after, timeout, gone.signal);
    if (!gone.signal.aborted) send(res, 200, page);
  }

  function stream(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const header = req.headers["last-event-id"];
    const after =
      typeof header === "string" && /^\d+$/.test(header)
        ? Number(header)
        : queryInteger(url, "after", 0, Number.MAX_SAFE_INTEGER, 0);
    res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-store" });
    const write = (e: { seq: number; event: { type: string } }) =>
      res.write(`id: ${e.seq}\nevent: ${e.event.type}\ndata: ${encode(e.event)}\n\n`);
    for (const e of session.log.after(after).events) write(e);
    const stop = session.log.subscribe(write);
    const keepAlive = setInterval(() => res.write(": keep-alive\n\n"), SSE_KEEPALIVE_MS);
    streams.add(res);
    res.once("close", () => {
      stop();
      clearInterval(keepAlive);
      streams.delete(res);
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", (cause: Error) =>
      reject(
        new FerryError(
          "E_IO",
          `Cannot listen on 127.0.0.1:${options.port}: ${cause.message}. Choose another port (0: any free one).`,
          { port: options.port },
          { cause },
        ),
      ),
    );
    server.listen(options.port, "127.0.0.1", () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    token,
    shutdownRequested,
    async close() {
      await session.close();
      for (const res of streams) res.end();
      streams.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function queryInteger(url: URL, name: string, min: number, max: number, fallback: number): number {
  const text = url.searchParams.get(name);
  if (text === null) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max)
    throw new FerryError("E_USAGE", `Query parameter ${name} must be an integer from ${min} to ${max}.`, {
      param: name,
    });
  return Math.min(n, max);
}
