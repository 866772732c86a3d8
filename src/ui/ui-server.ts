import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { isFerryError } from "../core/errors.js";
import { isBusy } from "../core/lifecycle.js";
import type { LifecycleEvent } from "../client/events.js";
import { status } from "../client/ops/inspect.js";
import type { Updater } from "../client/ops/lifecycle.js";
import { SIMULATED_INSTALLED_VERSION } from "../client/ops/simulate.js";
import type { FileSystem } from "../ports/fs.js";
import { PAGE_CSS, PAGE_HTML, PAGE_JS, VIEW_JS } from "./page.js";

export interface UpdateScreenOptions {
  readonly updater: Updater;
  /** The install directory: its `.ferry/update-log.jsonl` is shown when present. */
  readonly installDir: string;
  readonly fs: FileSystem;
  /** Port on 127.0.0.1 (default 0: any free port). */
  readonly port?: number;
}

export interface UpdateScreen {
  /** http://127.0.0.1:<port>/ */
  readonly url: string;
  close(): Promise<void>;
}

/** The update log lines shown at most (the newest). */
const MAX_LOG_ENTRIES = 200;

const STATIC: Record<string, [type: string, body: string]> = {
  "/": ["text/html; charset=utf-8", PAGE_HTML],
  "/app.js": ["text/javascript; charset=utf-8", PAGE_JS],
  "/app.css": ["text/css; charset=utf-8", PAGE_CSS],
  "/ferry-update-view.js": ["text/javascript; charset=utf-8", VIEW_JS],
};

/** What the screen says is installed: the version, null when nothing is, or why it is unknown. */
export interface InstalledInfo {
  readonly version: string | null;
  readonly simulated: boolean;
  readonly error?: { readonly code: string; readonly message: string };
}

/**
 * Serves the update screen and its API for one Updater, on 127.0.0.1 only. Defences for a local
 * endpoint a browser can reach: the Host header must name this loopback address (DNS rebinding), and
 * actions need a POST with the `x-ferry-ui` header, which a page of another origin cannot send without
 * a CORS preflight this server never grants.
 */
export async function serveUpdateScreen(options: UpdateScreenOptions): Promise<UpdateScreen> {
  const { updater } = options;
  const streams = new Set<ServerResponse>();
  const send = (res: ServerResponse, event: string, data: unknown) =>
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  const broadcast = (event: string, data: unknown) => {
    for (const res of streams) send(res, event, data);
  };
  // The installed version, read at start (the header shows it before any check) and after every change.
  let installed = await readInstalled(options);
  /** The version the running update installs (its pointer event), shown as installed once it is done. */
  let target: string | undefined;
  let refresh = Promise.resolve();
  const unsubscribe = updater.subscribe((event: LifecycleEvent) => {
    if (event.type === "library") {
      if (event.event.type === "pointer") target = event.event.version;
      return;
    }
    if (event.type === "state" && event.state === "done" && target !== undefined) {
      // Before the state event, so the page never shows "done" beside the old version.
      installed = { version: target, simulated: updater.simulated };
      broadcast("installed", installed);
    }
    broadcast(event.type, event);
    if (event.type === "state" && (event.state === "available" || event.state === "up-to-date"))
      broadcast("check", updater.snapshot().lastCheck);
    if (
      event.type === "state" &&
      (event.state === "done" || event.state === "rolled-back") &&
      !updater.simulated
    ) {
      // Confirm from the install itself (a rollback changes it too).
      refresh = refresh.then(async () => {
        installed = await readInstalled(options);
        broadcast("installed", installed);
      });
    }
  });
  let port = 0;
  const allowedHosts = () => [`127.0.0.1:${port}`, `localhost:${port}`];

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // Every request error is answered (never dropped); the page shows the message.
      json(res, 500, errorBody(error));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("Cache-Control", "no-store");
    if (!allowedHosts().includes(req.headers.host ?? ""))
      return json(res, 421, { code: "E_USAGE", message: "Wrong Host." });
    const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
    const page = STATIC[path];
    if (req.method === "GET" && page) {
      res.setHeader("Content-Type", page[0]);
      res.setHeader(
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; frame-ancestors 'self'",
      );
      res.end(page[1]);
      return;
    }
    const snapshot = () => ({ ...updater.snapshot(), installed, simulated: updater.simulated });
    if (req.method === "GET" && path === "/api/state") return json(res, 200, snapshot());
    if (req.method === "GET" && path === "/api/log") {
      // A simulation shows no real log: its made-up releases must not sit beside the install's history.
      if (updater.simulated) return json(res, 200, { entries: [], present: false, simulated: true });
      return json(res, 200, { ...(await readLog(options)), simulated: false });
    }
    if (req.method === "GET" && path === "/api/events") {
      res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-store" });
      streams.add(res);
      req.on("close", () => streams.delete(res));
      send(res, "snapshot", snapshot());
      return;
    }
    if (req.method === "POST" && path.startsWith("/api/")) {
      if (req.headers["x-ferry-ui"] !== "1")
        return json(res, 403, { code: "E_USAGE", message: "Actions need the x-ferry-ui header." });
      return act(path.slice("/api/".length), res);
    }
    json(res, 404, { code: "E_USAGE", message: `No ${req.method} ${path} here.` });
  }

  function act(action: string, res: ServerResponse): void {
    // Operations run in the background; their outcome (including any error) reaches the page as state
    // events, and the promise's rejection is handled here so it is not reported twice.
    const background = (allowed: boolean, run: () => Promise<unknown>) => {
      if (!allowed)
        return json(res, 409, { code: "E_USAGE", message: `Cannot ${action} while '${updater.state}'.` });
      void run().catch(() => undefined);
      json(res, 202, { accepted: action });
    };
    const resting = !isBusy(updater.state);
    switch (action) {
      case "check":
        return background(resting, () => updater.check());
      case "update":
        return background(resting, () => updater.update());
      case "resume":
        return background(updater.state === "paused", () => updater.resume());
      case "cancel":
        return json(res, updater.cancel() ? 202 : 409, { accepted: action, state: updater.state });
      case "pause":
        return json(res, updater.pause() ? 202 : 409, { accepted: action, state: updater.state });
      default:
        return json(res, 404, { code: "E_USAGE", message: `Unknown action ${JSON.stringify(action)}.` });
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    async close() {
      unsubscribe();
      await refresh;
      for (const res of streams) res.end();
      streams.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The installed version from the install's state (status()), or the simulation's. A directory with no
 * install yet answers null; any other failure is shown as unknown with its code and message.
 */
async function readInstalled(options: UpdateScreenOptions): Promise<InstalledInfo> {
  if (options.updater.simulated) return { version: SIMULATED_INSTALLED_VERSION, simulated: true };
  try {
    const result = await status({ installDir: options.installDir, fs: options.fs });
    return { version: result.version, simulated: false };
  } catch (error) {
    if (isFerryError(error) && error.code === "E_NOT_INSTALLED") return { version: null, simulated: false };
    return { version: null, simulated: false, error: errorBody(error) };
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify(body));
}

function errorBody(error: unknown): { code: string; message: string } {
  return isFerryError(error)
    ? { code: error.code, message: error.message }
    : { code: "E_INTERNAL", message: error instanceof Error ? error.message : String(error) };
}

/**
 * `.ferry/update-log.jsonl` (written by the rollback/health code) when present: the newest entries,
 * one JSON object a line. A line that is not a JSON object is shown as such rather than dropped.
 */
async function readLog(options: UpdateScreenOptions): Promise<{ entries: unknown[]; present: boolean }> {
  const path = join(options.installDir, ".ferry", "update-log.jsonl");
  if (!(await options.fs.stat(path))) return { entries: [], present: false };
  const text = new TextDecoder().decode(await options.fs.readFile(path));
  const lines = text.split("\n").filter((line) => line.trim() !== "");
  const entries = lines.slice(-MAX_LOG_ENTRIES).map((line, i) => {
    try {
      const value: unknown = JSON.parse(line);
      if (typeof value === "object" && value !== null && !Array.isArray(value)) return value;
    } catch {
      // reported below
    }
    return {
      type: "unreadable",
      message: `line ${lines.length - Math.min(lines.length, MAX_LOG_ENTRIES) + i + 1} is not a JSON object`,
    };
  });
  return { entries, present: true };
}
