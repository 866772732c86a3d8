/**
 * Ferry's static server on loopback with a counter in front: every response body byte and every request
 * is counted at the server, so HTTP peers (Ferry, zsync, casync) are measured the same way.
 * `bytes` counts bodies only (multipart range framing counts as body); `wire` counts what the server wrote
 * on the socket for the request, status line and headers included. Both are also split by the kind of
 * URL (the first path segment naming a Ferry repository area, see urlKind).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { serveRepository } from "../src/index.js";

export interface KindCounts {
  readonly bytes: number;
  readonly wire: number;
  readonly requests: number;
}

export interface Counts extends KindCounts {
  /** Per URL kind (urlKind); kinds with no request are absent. */
  readonly byKind: ReadonlyMap<string, KindCounts>;
}

export interface CountingServer {
  readonly url: string;
  /** Counts since the previous call (or since start). */
  take(): Counts;
  close(): Promise<void>;
}

/** Ferry repository areas (docs/FORMAT.md §2); anything else (a peer's files) is "other". */
const KINDS = new Set(["channels", "root", "manifests", "objects", "packs", "ferry-repo.json"]);

/** The first segment of the URL path that names a repository area, else "other". */
export function urlKind(url: string): string {
  const path = url.split("?")[0] ?? "";
  for (const segment of path.split("/")) if (KINDS.has(segment)) return segment;
  return "other";
}

function byteLength(chunk: unknown, encoding?: unknown): number {
  if (chunk === undefined || chunk === null || typeof chunk === "function") return 0;
  if (typeof chunk === "string")
    return Buffer.byteLength(chunk, typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8");
  if (chunk instanceof Uint8Array) return chunk.byteLength;
  return 0;
}

export async function serveCounting(root: string): Promise<CountingServer> {
  const running = await serveRepository({ root, host: "127.0.0.1" });
  if (!new URL(running.url).hostname.startsWith("127.")) throw new Error(`not loopback: ${running.url}`);
  let kinds = new Map<string, { bytes: number; wire: number; requests: number }>();
  const slot = (kind: string): { bytes: number; wire: number; requests: number } => {
    let s = kinds.get(kind);
    if (s === undefined) kinds.set(kind, (s = { bytes: 0, wire: 0, requests: 0 }));
    return s;
  };
  // prependListener: the wrapper is installed before the repository handler writes anything.
  running.server.prependListener("request", (req: IncomingMessage, res: ServerResponse) => {
    const kind = urlKind(req.url ?? "");
    slot(kind).requests++;
    // The socket's counter includes bytes still buffered in it, so at "finish" (everything handed to
    // the socket) the difference is this response's wire size; requests on one socket are sequential.
    const socket = req.socket;
    const wireStart = socket.bytesWritten;
    let counted = false;
    const countWire = (): void => {
      if (counted) return;
      counted = true;
      slot(kind).wire += socket.bytesWritten - wireStart;
    };
    res.once("finish", countWire);
    res.once("close", countWire);
    const write = res.write.bind(res) as (...args: unknown[]) => boolean;
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    (res as { write: unknown }).write = (...args: unknown[]): boolean => {
      slot(kind).bytes += byteLength(args[0], args[1]);
      return write(...args);
    };
    (res as { end: unknown }).end = (...args: unknown[]): ServerResponse => {
      slot(kind).bytes += byteLength(args[0], args[1]);
      return end(...args);
    };
  });
  return {
    url: running.url,
    take() {
      const byKind: ReadonlyMap<string, KindCounts> = kinds;
      kinds = new Map();
      let bytes = 0;
      let wire = 0;
      let requests = 0;
      for (const k of byKind.values()) {
        bytes += k.bytes;
        wire += k.wire;
        requests += k.requests;
      }
      return { bytes, wire, requests, byKind };
    },
    close: () => running.close(),
  };
}
