/**
 * Ferry's static server on loopback with a counter in front: every response body byte and every request
 * is counted at the server, so HTTP peers (Ferry, zsync, casync) are measured the same way.
 * Bodies only (no status line or headers); multipart range framing counts as body.
 */
import type { ServerResponse } from "node:http";
import { serveRepository } from "../src/index.js";

export interface Counts {
  readonly bytes: number;
  readonly requests: number;
}

export interface CountingServer {
  readonly url: string;
  /** Counts since the previous call (or since start). */
  take(): Counts;
  close(): Promise<void>;
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
  let bytes = 0;
  let requests = 0;
  // prependListener: the wrapper is installed before the repository handler writes anything.
  running.server.prependListener("request", (_req, res: ServerResponse) => {
    requests++;
    const write = res.write.bind(res) as (...args: unknown[]) => boolean;
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    (res as { write: unknown }).write = (...args: unknown[]): boolean => {
      bytes += byteLength(args[0], args[1]);
      return write(...args);
    };
    (res as { end: unknown }).end = (...args: unknown[]): ServerResponse => {
      bytes += byteLength(args[0], args[1]);
      return end(...args);
    };
  });
  return {
    url: running.url,
    take() {
      const counts = { bytes, requests };
      bytes = 0;
      requests = 0;
      return counts;
    },
    close: () => running.close(),
  };
}
