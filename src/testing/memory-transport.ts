import { createHash, randomBytes } from "node:crypto";
import { FerryError } from "../core/errors.js";
import type { Transport, TransportRequest, TransportResponse } from "../ports/transport.js";
import { type Range, noneMatch, selectRanges } from "../server/static-server.js";

/** What a MemoryTransport serves: the bytes at a URL, or undefined (404). */
export type UrlSource = ReadonlyMap<string, Uint8Array> | ((url: string) => Uint8Array | undefined);

const CONTENT_ADDRESS = /^([0-9a-f]{64})(?:\.|$)/i;

/**
 * A Transport answering from memory as src/server/static-server.ts answers over HTTP (the same range
 * parser and If-None-Match rule): 200, 206 (one range, or multipart/byteranges), 304, 404, 416; strong
 * ETags (the content hash for manifests/ and packs/ objects, a hash of the bytes otherwise); Cache-Control
 * immutable for content-addressed objects. A request whose signal is aborted fails with E_ABORTED (or the
 * signal's FerryError reason), as HttpTransport does. `requests` records every URL and its headers.
 */
export class MemoryTransport implements Transport {
  readonly requests: { readonly url: string; readonly headers: Readonly<Record<string, string>> }[] = [];

  constructor(private readonly source: UrlSource) {}

  /** Serves `store.get(path)` under `base` (a URL ending in '/'). */
  static serving(base: string, store: { get(path: string): Uint8Array | undefined }): MemoryTransport {
    return new MemoryTransport((url) =>
      url.startsWith(base)
        ? store.get(decodeURIComponent(url.slice(base.length).split(/[?#]/)[0]!))
        : undefined,
    );
  }

  async get(url: string, request: TransportRequest = {}): Promise<TransportResponse> {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers ?? {})) headers[name.toLowerCase()] = value;
    this.requests.push({ url, headers });
    const aborted = (): FerryError => {
      const reason: unknown = request.signal?.reason;
      return reason instanceof FerryError
        ? reason
        : new FerryError("E_ABORTED", `Download of ${url} was cancelled.`, { url });
    };
    if (request.signal?.aborted) throw aborted();
    const bytes = typeof this.source === "function" ? this.source(url) : this.source.get(url);
    if (bytes === undefined)
      return respond(url, 404, { "cache-control": "no-cache" }, [text("Not Found\n")], request, aborted);

    const name = new URL(url).pathname.split("/").pop() ?? "";
    const segments = new URL(url).pathname.split("/");
    const addressed = segments.some((s) => s === "manifests" || s === "packs")
      ? CONTENT_ADDRESS.exec(name)?.[1]
      : undefined;
    const etag = `"${addressed ?? createHash("sha256").update(bytes).digest("hex").slice(0, 32)}"`;
    const contentType = name.toLowerCase().endsWith(".json")
      ? "application/json"
      : "application/octet-stream";
    const base: Record<string, string> = {
      etag,
      "cache-control": addressed === undefined ? "no-cache" : "public, max-age=31536000, immutable",
      "accept-ranges": "bytes",
    };
    if (noneMatch(headers["if-none-match"], etag)) return respond(url, 304, base, [], request, aborted);

    const ifRange = headers["if-range"];
    const rangeHeader = ifRange === undefined || ifRange.trim() === etag ? headers.range : undefined;
    const ranges = rangeHeader === undefined ? undefined : selectRanges(rangeHeader, bytes.length);
    if (ranges === "unsatisfiable") {
      return respond(
        url,
        416,
        { ...base, "content-range": `bytes */${bytes.length}`, "content-length": "0" },
        [],
        request,
        aborted,
      );
    }
    if (ranges === undefined) {
      return respond(
        url,
        200,
        { ...base, "content-type": contentType, "content-length": String(bytes.length) },
        [bytes],
        request,
        aborted,
      );
    }
    if (ranges.length === 1) {
      const [r] = ranges as [Range];
      return respond(
        url,
        206,
        {
          ...base,
          "content-type": contentType,
          "content-range": `bytes ${r.start}-${r.end - 1}/${bytes.length}`,
          "content-length": String(r.end - r.start),
        },
        [bytes.subarray(r.start, r.end)],
        request,
        aborted,
      );
    }
    const boundary = `ferry-${randomBytes(16).toString("hex")}`;
    const parts: Uint8Array[] = [];
    for (const r of ranges) {
      parts.push(
        text(
          `\r\n--${boundary}\r\nContent-Type: ${contentType}\r\nContent-Range: bytes ${r.start}-${r.end - 1}/${bytes.length}\r\n\r\n`,
        ),
      );
      parts.push(bytes.subarray(r.start, r.end));
    }
    parts.push(text(`\r\n--${boundary}--\r\n`));
    const length = parts.reduce((n, p) => n + p.length, 0);
    return respond(
      url,
      206,
      {
        ...base,
        "content-type": `multipart/byteranges; boundary=${boundary}`,
        "content-length": String(length),
      },
      parts,
      request,
      aborted,
    );
  }
}

function text(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

function respond(
  url: string,
  status: number,
  headers: Readonly<Record<string, string>>,
  parts: readonly Uint8Array[],
  request: TransportRequest,
  aborted: () => FerryError,
): TransportResponse {
  let cancelled = false;
  return {
    status,
    url,
    header: (name) => headers[name.toLowerCase()],
    body: (async function* () {
      for (const part of parts) {
        if (cancelled) return;
        if (request.signal?.aborted) throw aborted();
        if (part.length > 0) yield new Uint8Array(part); // a copy: the consumer may keep or alter it
      }
    })(),
    cancel: async () => {
      cancelled = true;
    },
  };
}
