/**
 * A static HTTP server for a Ferry repository directory (docs/FORMAT.md §2), built on node:http and node:fs.
 *
 * Invariants:
 * - Nothing outside `root` is ever served: the request path is decoded segment by segment, `.`/`..`/empty
 *   segments, encoded slashes, backslashes and NUL are refused, and the file's realpath must lie inside the
 *   root's realpath (so symlinks pointing out of the root are refused; symlinks inside it are followed).
 * - Publisher temporaries (`*.tmp-*`) and anything that is not a regular file answer 404.
 * - Bodies are streamed from one open file descriptor, so a channel pointer replaced by rename mid-response
 *   is still served consistently (the old inode stays readable until we close it).
 * - A body shorter than the promised Content-Length (file truncated under us) destroys the connection rather
 *   than ending cleanly, so clients see a transport error instead of a silently short object.
 */
import { randomBytes } from "node:crypto";
import { constants as fsConstants } from "node:fs";
import { type FileHandle, open, realpath, stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { basename, isAbsolute, join, relative, sep } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { FerryError, ioError } from "../core/errors.js";

export interface ServeOptions {
  root: string;
  host?: string;
  port?: number;
}

export interface RunningServer {
  /** Base URL with a trailing slash, e.g. `http://127.0.0.1:8080/`. */
  url: string;
  /** Stops listening and drops open connections (interrupted downloads resume with ranges). */
  close(): Promise<void>;
  server: Server;
}

/**
 * More ranges than this in one request and the Range header is ignored (200 with the full body), as nginx
 * does past `max_ranges`: a full body is always a correct answer, and it bounds per-request work.
 */
export const MAX_RANGES = 200;
const CHUNK = 64 * 1024;

const IMMUTABLE = "public, max-age=31536000, immutable";
const REVALIDATE = "no-cache";
/** A content-addressed base name: 64 hex digits, alone or followed by an extension. */
const CONTENT_ADDRESS = /^([0-9a-f]{64})(?:\.|$)/i;
/** Errors that mean "there is no servable file here". */
const NOT_FOUND_CODES = new Set([
  "ENOENT",
  "ENOTDIR",
  "ELOOP",
  "EACCES",
  "EPERM",
  "EISDIR",
  "ENAMETOOLONG",
  "EINVAL",
]);
// O_NONBLOCK keeps open() from blocking on a FIFO (fstat then rejects it); it has no effect on regular files.
const OPEN_FLAGS = fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0) | (fsConstants.O_NONBLOCK ?? 0);

export function formatListenMessage(url: string): string {
  return `Serving ${url} (Ctrl-C to stop)`;
}

export async function serveRepository(options: ServeOptions): Promise<RunningServer> {
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? 0;
  let rootReal: string;
  try {
    rootReal = await realpath(options.root);
  } catch (error) {
    throw ioError("Resolving the repository root", options.root, error);
  }
  if (!(await stat(rootReal)).isDirectory()) {
    throw new FerryError(
      "E_USAGE",
      `Cannot serve ${options.root}: it is not a directory. Pass a repository directory.`,
      {
        path: options.root,
      },
    );
  }

  const server = createServer((req, res) => {
    handle(rootReal, req, res).catch(() => {
      // Unexpected failure: answer 500 if we still can, otherwise cut the connection.
      if (!res.headersSent) sendStatus(res, 500, "Internal Server Error");
      else res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => {
      reject(
        new FerryError(
          "E_NETWORK",
          `Cannot listen on ${host}:${port}: ${error.message}. Choose another port or host.`,
          { host, port, systemCode: (error as { code?: string }).code },
          { cause: error },
        ),
      );
    };
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });

  const address = server.address();
  if (address === null || typeof address === "string")
    throw new Error("unreachable: TCP server without a port");
  const urlHost =
    address.family === "IPv6" || address.address.includes(":") ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${address.port}/`,
    server,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

async function handle(rootReal: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  res.setHeader("X-Content-Type-Options", "nosniff");
  const method = req.method ?? "";
  if (method !== "GET" && method !== "HEAD") {
    res.setHeader("Allow", "GET, HEAD");
    sendStatus(res, 405, "Method Not Allowed");
    return;
  }
  const rawUrl = req.url ?? "";
  if (!rawUrl.startsWith("/")) {
    sendStatus(res, 400, "Bad Request"); // only origin-form request targets are served
    return;
  }
  const segments = decodePath(rawUrl);
  if (segments === undefined || segments.some((s) => s.includes(".tmp-"))) {
    sendStatus(res, 404, "Not Found");
    return;
  }

  const opened = await openInsideRoot(rootReal, segments);
  if (opened === undefined) {
    sendStatus(res, 404, "Not Found");
    return;
  }
  const { file, size, fallbackTag } = opened;
  try {
    const name = segments[segments.length - 1]!;
    const hash = ["manifests", "packs"].includes(segments[0]!) ? CONTENT_ADDRESS.exec(name)?.[1] : undefined;
    const etag = hash === undefined ? fallbackTag : `"${hash}"`;
    const contentType = name.toLowerCase().endsWith(".json")
      ? "application/json"
      : "application/octet-stream";
    res.setHeader("ETag", etag);
    res.setHeader("Cache-Control", hash === undefined ? REVALIDATE : IMMUTABLE);
    res.setHeader("Accept-Ranges", "bytes");

    // RFC 9110 §13.2.2: If-None-Match is evaluated before Range.
    if (noneMatch(req.headers["if-none-match"], etag)) {
      res.statusCode = 304;
      res.end();
      return;
    }

    // Range is only defined for GET (RFC 9110 §14.2); HEAD describes the full representation. If-Range
    // (§13.1.5) must match our ETag strongly; we send no Last-Modified, so a date never matches and the
    // full body is sent, which is always safe.
    const ifRange = req.headers["if-range"];
    const rangeHeader =
      method === "GET" && (ifRange === undefined || (typeof ifRange === "string" && ifRange.trim() === etag))
        ? req.headers.range
        : undefined;
    const ranges = rangeHeader === undefined ? undefined : selectRanges(rangeHeader, size);
    if (ranges === "unsatisfiable") {
      res.statusCode = 416;
      res.setHeader("Content-Range", `bytes */${size}`);
      res.setHeader("Content-Length", 0);
      res.end();
      return;
    }

    let parts: BodyPart[];
    if (ranges === undefined) {
      res.statusCode = 200;
      res.setHeader("Content-Type", contentType);
      parts = [{ prefix: "", start: 0, end: size }];
    } else if (ranges.length === 1) {
      const [range] = ranges as [Range];
      res.statusCode = 206;
      res.setHeader("Content-Type", contentType);
      res.setHeader("Content-Range", `bytes ${range.start}-${range.end - 1}/${size}`);
      parts = [{ prefix: "", start: range.start, end: range.end }];
    } else {
      // RFC 9110 §14.6: each part carries its own Content-Type and Content-Range; the body ends with the
      // close delimiter. The boundary is random, so it cannot be chosen to collide with file contents.
      // Every delimiter, the first included, starts with CRLF, as nginx sends it: zsync 0.6.2 waits
      // forever on a body whose first delimiter lacks it (measured by the peer benchmark).
      const boundary = `ferry-${randomBytes(16).toString("hex")}`;
      res.statusCode = 206;
      res.setHeader("Content-Type", `multipart/byteranges; boundary=${boundary}`);
      parts = ranges.map((range) => ({
        prefix:
          `\r\n--${boundary}\r\nContent-Type: ${contentType}\r\n` +
          `Content-Range: bytes ${range.start}-${range.end - 1}/${size}\r\n\r\n`,
        start: range.start,
        end: range.end,
      }));
      parts.push({ prefix: `\r\n--${boundary}--\r\n`, start: 0, end: 0 });
    }
    // Part prefixes are pure ASCII, so string length equals byte length.
    const length = parts.reduce((sum, p) => sum + p.prefix.length + (p.end - p.start), 0);
    res.setHeader("Content-Length", length);
    if (method === "HEAD") {
      res.end();
      return;
    }
    try {
      await pipeline(Readable.from(bodyChunks(file, parts)), res);
    } catch {
      // The client went away or the file shrank under us: pipeline has already destroyed the response.
      // Nothing to report; the client resumes with a range request.
    }
  } finally {
    await file.close().catch(() => {});
  }
}

export interface Range {
  start: number;
  /** Exclusive. */
  end: number;
}

interface BodyPart {
  prefix: string;
  start: number;
  /** Exclusive; equal to start for a prefix-only part. */
  end: number;
}

/**
 * Yields the body in CHUNK-sized positional reads, pulled by pipeline so memory stays bounded by
 * backpressure. Not fs.createReadStream: destroying one on client abort closes the descriptor even with
 * autoClose: false, and our caller closes the shared handle itself (a double close could hit a reused fd).
 */
async function* bodyChunks(file: FileHandle, parts: readonly BodyPart[]): AsyncGenerator<Buffer> {
  for (const part of parts) {
    if (part.prefix !== "") yield Buffer.from(part.prefix, "latin1");
    let position = part.start;
    while (position < part.end) {
      const want = Math.min(CHUNK, part.end - position);
      const { bytesRead, buffer } = await file.read(Buffer.allocUnsafe(want), 0, want, position);
      if (bytesRead === 0) throw new Error("file shrank while being served");
      position += bytesRead;
      yield bytesRead === want ? buffer : buffer.subarray(0, bytesRead);
    }
  }
}

/** Decodes an origin-form path into safe segments, or undefined when it must not map to a file. */
function decodePath(rawUrl: string): string[] | undefined {
  const end = rawUrl.search(/[?#]/);
  const path = end === -1 ? rawUrl : rawUrl.slice(0, end);
  const segments: string[] = [];
  for (const raw of path.slice(1).split("/")) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return undefined; // malformed percent-encoding
    }
    if (segment === "" || segment === "." || segment === "..") return undefined;
    if (/[/\\\0]/.test(segment)) return undefined; // encoded slash, backslash, NUL
    segments.push(segment);
  }
  return segments;
}

function isInside(rootReal: string, candidate: string): boolean {
  const rel = relative(rootReal, candidate);
  return rel !== "" && rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

async function openInsideRoot(
  rootReal: string,
  segments: readonly string[],
): Promise<{ file: FileHandle; size: number; fallbackTag: string } | undefined> {
  const candidate = join(rootReal, ...segments);
  if (!isInside(rootReal, candidate)) return undefined;
  let file: FileHandle | undefined;
  try {
    // realpath resolves every symlink on the way; the result must still be inside the root. O_NOFOLLOW on
    // the resolved path then refuses a final component swapped for a symlink in between.
    const real = await realpath(candidate);
    if (!isInside(rootReal, real) || basename(real).includes(".tmp-")) return undefined;
    file = await open(real, OPEN_FLAGS);
    const info = await file.stat({ bigint: true });
    if (!info.isFile()) {
      await file.close();
      return undefined;
    }
    // Without a content hash in the name: size, mtime (ns) and inode. A publisher renames new versions into
    // place, so a new version differs in inode and nanosecond mtime (unlike nginx's seconds-and-size tag).
    const fallbackTag = `"${info.size.toString(16)}-${info.mtimeNs.toString(16)}-${info.ino.toString(16)}"`;
    return { file, size: Number(info.size), fallbackTag };
  } catch (error) {
    await file?.close().catch(() => {});
    if (NOT_FOUND_CODES.has((error as { code?: string }).code ?? "")) return undefined;
    throw error;
  }
}

/** If-None-Match with weak comparison (RFC 9110 §13.1.2): `*` or any listed tag whose opaque part matches. */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === "*") return true;
  for (const match of header.matchAll(/(?:W\/)?("[^"]*")/g)) {
    if (match[1] === etag) return true;
  }
  return false;
}

/**
 * Parses a Range header against a representation of `size` bytes (RFC 9110 §14.1.2, §14.2).
 * Returns undefined when the header must be ignored (other unit, bad syntax, more than MAX_RANGES ranges,
 * or overlapping ranges that together exceed the file, an amplification guard nginx also applies), the
 * satisfiable ranges in request order, or "unsatisfiable" when none is.
 */
export function selectRanges(header: string, size: number): Range[] | "unsatisfiable" | undefined {
  const match = /^\s*bytes\s*=(.*)$/i.exec(header);
  // An empty file has no byte positions to name; ignoring Range (200, empty body) is what nginx does too.
  if (!match || size === 0) return undefined;
  const specs = match[1]!.split(",").map((s) => s.trim());
  const ranges: Range[] = [];
  let count = 0;
  for (const spec of specs) {
    if (spec === "") continue; // empty list elements are allowed by the #rule
    if (++count > MAX_RANGES) return undefined;
    const parsed = /^(\d*)-(\d*)$/.exec(spec);
    if (!parsed) return undefined;
    const [, first, last] = parsed as unknown as [string, string, string];
    if (first === "") {
      if (last === "") return undefined;
      const suffix = Number(last);
      if (suffix > 0) ranges.push({ start: Math.max(0, size - suffix), end: size });
      continue;
    }
    const start = Number(first);
    if (last !== "" && Number(last) < start) return undefined;
    if (start >= size) continue; // unsatisfiable on its own; others may still be served
    ranges.push({ start, end: last === "" ? size : Math.min(Number(last) + 1, size) });
  }
  if (count === 0) return undefined;
  if (ranges.length === 0) return "unsatisfiable";
  if (ranges.reduce((sum, r) => sum + (r.end - r.start), 0) > size) return undefined;
  return ranges;
}

function sendStatus(res: ServerResponse, status: number, text: string): void {
  const body = `${text}\n`;
  for (const name of ["ETag", "Accept-Ranges", "Content-Range"]) res.removeHeader(name);
  res.statusCode = status;
  res.setHeader("Content-Type", "text/plain; charset=utf-8");
  res.setHeader("Content-Length", Buffer.byteLength(body));
  res.setHeader("Cache-Control", "no-cache");
  res.end(body);
}
