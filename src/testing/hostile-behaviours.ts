/**
 * The catalogue of misbehaviours the hostile-server battery runs an update through. Each names what a
 * correct client must end with: the exact new release ("new"), or a typed FerryError with one of the
 * listed codes and the install unchanged ("any" accepts either).
 */
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import type { FerryErrorCode } from "../core/errors.js";
import { parseMultipart } from "../core/multipart.js";
import type { Behaviour, BehaviourContext, Exchange, ObjectKind, Reply, Upstream } from "./hostile-server.js";

export interface HostileCase {
  readonly name: string;
  readonly behaviour: Behaviour;
  readonly expect: "new" | "any" | readonly FerryErrorCode[];
  /**
   * One more refusal that is right for this behaviour only in the stated circumstance (checked on the
   * error's data), e.g. a corruption that happens to produce a well-formed request for a missing object.
   */
  readonly alsoRefusedAs?: {
    readonly code: FerryErrorCode;
    readonly when: (data: Readonly<Record<string, unknown>>) => boolean;
  };
  /** Delays (ms) the client's clock must have been asked to sleep, e.g. an honoured Retry-After. */
  readonly sleeps?: (sleeps: readonly number[]) => boolean;
}

type Transform = (
  upstream: Upstream,
  exchange: Exchange,
  context: BehaviourContext,
) => Reply | Promise<Reply>;

/** Applies `transform` to the first `times` requests of `kind`; everything else passes. */
function on(kind: ObjectKind, times: number, transform: Transform): Behaviour {
  return async (exchange, context) => {
    const upstream = await context.upstream();
    if (exchange.kind !== kind || exchange.n >= times) return upstream;
    return transform(upstream, exchange, context);
  };
}

const ALWAYS = Number.POSITIVE_INFINITY;

function flipBit(body: Buffer, random: () => number): Buffer {
  const copy = Buffer.from(body);
  const at = Math.floor(random() * copy.length);
  copy[at] = copy[at]! ^ (1 << Math.floor(random() * 8));
  return copy;
}

function withLength(headers: Record<string, string>, length: number): Record<string, string> {
  return { ...headers, "content-length": String(length) };
}

function without(headers: Record<string, string>, name: string): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => k !== name));
}

function withoutLength(headers: Record<string, string>): Record<string, string> {
  return without(headers, "content-length");
}

function withoutRange(headers: Record<string, string>): Record<string, string> {
  return without(headers, "content-range");
}

function status(code: number, headers: Record<string, string> = {}): Reply {
  return { status: code, headers: { "content-length": "0", ...headers }, body: Buffer.alloc(0) };
}

function redirect(location: string): Reply {
  return status(302, { location });
}

/** A small body that inflates to `size` zero bytes. */
function bomb(encoding: "gzip" | "br", size: number): Buffer {
  const zeros = Buffer.alloc(size);
  return encoding === "gzip"
    ? gzipSync(zeros, { level: 9 })
    : brotliCompressSync(zeros, { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } });
}

export function hostileCases(random: () => number): HostileCase[] {
  const gzipBomb = bomb("gzip", 64 * 1024 * 1024);
  const brBomb = bomb("br", 64 * 1024 * 1024);
  const httpDate = (ms: number) => new Date(Date.now() + ms).toUTCString();
  return [
    { name: "pass-through", expect: "new", behaviour: on("pack", 0, (u) => u) },
    {
      name: "pack body truncated at a random offset (once)",
      expect: "new",
      behaviour: on("pack", 1, (u) => ({ ...u, cutAfter: Math.floor(random() * u.body.length) })),
    },
    {
      name: "pointer body truncated at a random offset (once)",
      expect: "new",
      behaviour: on("pointer", 1, (u) => ({ ...u, cutAfter: Math.floor(random() * u.body.length) })),
    },
    {
      name: "manifest body truncated at a random offset (always)",
      expect: ["E_NETWORK"],
      behaviour: on("manifest", ALWAYS, (u) => ({ ...u, cutAfter: Math.floor(random() * u.body.length) })),
    },
    {
      name: "early close after headers (once)",
      expect: "new",
      behaviour: on("pack", 1, (u) => ({ ...u, cutAfter: 0 })),
    },
    {
      name: "early close after headers (always)",
      expect: ["E_NETWORK"],
      behaviour: on("pack", ALWAYS, (u) => ({ ...u, cutAfter: 0 })),
    },
    {
      name: "Content-Length one short, body cut to it (always)",
      expect: ["E_NETWORK", "E_RANGE"],
      behaviour: on("pack", ALWAYS, (u) => ({
        ...u,
        headers: withLength(u.headers, u.body.length - 1),
        body: u.body.subarray(0, u.body.length - 1),
      })),
    },
    {
      name: "Content-Length too long, connection closed (once)",
      expect: "new",
      behaviour: on("pack", 1, (u) => ({
        ...u,
        headers: withLength(u.headers, u.body.length + 100),
        cutAfter: u.body.length,
      })),
    },
    {
      name: "pointer Content-Length too long (always)",
      expect: ["E_NETWORK"],
      behaviour: on("pointer", ALWAYS, (u) => ({
        ...u,
        headers: withLength(u.headers, u.body.length + 100),
        cutAfter: u.body.length,
      })),
    },
    {
      name: "bit flip in pack bodies",
      expect: ["E_HASH_MISMATCH", "E_RANGE", "E_FORMAT"],
      behaviour: on("pack", ALWAYS, (u) => ({ ...u, body: flipBit(u.body, random) })),
    },
    {
      name: "bit flip in the manifest",
      expect: ["E_HASH_MISMATCH"],
      behaviour: on("manifest", ALWAYS, (u) => ({ ...u, body: flipBit(u.body, random) })),
    },
    {
      name: "bit flip in the pointer",
      expect: ["E_SIGNATURE", "E_FORMAT", "E_UNSUPPORTED_FORMAT", "E_HASH_MISMATCH"],
      // A flip in the pointer's root number ("root":1 -> 3) names a root the repository does not serve:
      // the client asks for root/<n>.json and reports its 404 before any signature can be checked, as
      // for every pointer naming an unpublished root (docs/FORMAT.md §6; test/client/trust-walk.test.ts).
      alsoRefusedAs: {
        code: "E_HTTP",
        when: (data) => data.status === 404 && /\/root\/\d+\.json$/.test(String(data.url)),
      },
      behaviour: on("pointer", ALWAYS, (u) => ({ ...u, body: flipBit(u.body, random) })),
    },
    {
      name: "endless garbage pack body (200, no length)",
      expect: ["E_HASH_MISMATCH", "E_FORMAT"],
      behaviour: on("pack", ALWAYS, (u) => ({
        status: 200,
        headers: withoutLength(u.headers),
        body: Buffer.alloc(0),
        endless: Buffer.alloc(64 * 1024, 7),
      })),
    },
    {
      name: "endless pack body: the whole pack, then more (200, no length)",
      expect: ["E_RANGE"],
      behaviour: async (exchange, context) => {
        if (exchange.kind !== "pack") return context.upstream();
        const whole = await context.upstream(exchange.path, {});
        return {
          status: 200,
          headers: withoutLength(whole.headers),
          body: whole.body,
          endless: Buffer.alloc(64 * 1024, 7),
        };
      },
    },
    {
      name: "endless pointer body",
      expect: ["E_TOO_LARGE"],
      behaviour: on("pointer", ALWAYS, (u) => ({
        ...u,
        headers: withoutLength(u.headers),
        endless: Buffer.alloc(16 * 1024, 32),
      })),
    },
    {
      name: "endless manifest body",
      expect: ["E_TOO_LARGE"],
      behaviour: on("manifest", ALWAYS, (u) => ({
        ...u,
        headers: withoutLength(u.headers),
        endless: u.body,
      })),
    },
    {
      name: "pack body one byte over the range",
      expect: ["E_RANGE"],
      behaviour: on("pack", ALWAYS, (u) => {
        const body = Buffer.concat([u.body, Buffer.from([0])]);
        return { ...u, headers: withLength(u.headers, body.length), body };
      }),
    },
    {
      name: "manifest body one byte over",
      expect: ["E_TOO_LARGE"],
      behaviour: on("manifest", ALWAYS, (u) => {
        const body = Buffer.concat([u.body, Buffer.from([0])]);
        return { ...u, headers: withLength(u.headers, body.length), body };
      }),
    },
    {
      // When the requested range is the whole pack this is a correct answer, so either outcome is right.
      name: "200 instead of 206 (the range's bytes as if they were the whole pack)",
      expect: "any",
      behaviour: on("pack", ALWAYS, (u) => ({ ...u, status: 200 })),
    },
    {
      name: "200 with part of the pack",
      expect: ["E_RANGE"],
      behaviour: on("pack", ALWAYS, (u) => {
        const body = u.body.subarray(0, Math.max(1, Math.floor(u.body.length / 2)));
        return { status: 200, headers: withLength(withoutRange(u.headers), body.length), body };
      }),
    },
    {
      name: "Range ignored (200 with the whole pack)",
      expect: "new",
      behaviour: async (exchange, context) => context.upstream(exchange.path, {}),
    },
    {
      name: "Content-Range not matching the request",
      expect: ["E_RANGE"],
      behaviour: on("pack", ALWAYS, (u) => {
        const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(u.headers["content-range"] ?? "");
        if (!range) return { ...u, status: 206, headers: { ...u.headers, "content-range": "bytes 1-2/3" } };
        const [, a, b, total] = range;
        return {
          ...u,
          headers: { ...u.headers, "content-range": `bytes ${Number(a) + 1}-${Number(b) + 1}/${total}` },
        };
      }),
    },
    {
      name: "Content-Range total differs from the manifest",
      expect: ["E_RANGE"],
      behaviour: on("pack", ALWAYS, (u) => ({
        ...u,
        headers: {
          ...u.headers,
          "content-range": (u.headers["content-range"] ?? "").replace(/\/\d+$/, "/999999999"),
        },
      })),
    },
    {
      name: "ETag and content change during resume",
      expect: ["E_HASH_MISMATCH", "E_RANGE", "E_FORMAT"],
      behaviour: on("pack", ALWAYS, (u, exchange) =>
        exchange.n === 0
          ? { ...u, cutAfter: Math.floor(u.body.length / 2) }
          : { ...u, headers: { ...u.headers, etag: '"changed"' }, body: flipBit(u.body, random) },
      ),
    },
    {
      name: "slow loris: 1 byte per 10 s",
      expect: ["E_NETWORK"],
      behaviour: on("pack", ALWAYS, (u) => ({ ...u, paceMs: 10_000 })),
    },
    {
      name: "slow loris on the pointer",
      expect: ["E_NETWORK"],
      behaviour: on("pointer", ALWAYS, (u) => ({ ...u, paceMs: 10_000 })),
    },
    {
      name: "stall after headers (once)",
      expect: "new",
      behaviour: on("pack", 1, (u) => ({ ...u, stallAfter: 0 })),
    },
    {
      name: "stall mid-body (always)",
      expect: ["E_NETWORK"],
      behaviour: on("pack", ALWAYS, (u) => ({ ...u, stallAfter: Math.floor(u.body.length / 3) })),
    },
    {
      name: "captive portal: 200 text/html instead of the pointer",
      expect: ["E_FORMAT"],
      behaviour: on("pointer", ALWAYS, () => {
        const body = Buffer.from(
          "<!doctype html><html><body><form>Sign in to Hotel WiFi</form></body></html>",
        );
        return {
          status: 200,
          headers: { "content-type": "text/html; charset=utf-8", "content-length": String(body.length) },
          body,
        };
      }),
    },
    { name: "404 for the pointer", expect: ["E_HTTP"], behaviour: on("pointer", ALWAYS, () => status(404)) },
    {
      name: "429 with Retry-After: 2 (once)",
      expect: "new",
      behaviour: on("pointer", 1, () => status(429, { "retry-after": "2" })),
      sleeps: (s) => s.includes(2000),
    },
    {
      name: "503 with an HTTP-date Retry-After (once)",
      expect: "new",
      behaviour: on("pack", 1, () => status(503, { "retry-after": httpDate(3000) })),
      sleeps: (s) => s.some((ms) => ms > 1000 && ms <= 3000),
    },
    {
      name: "503 with Retry-After: 3600 (beyond the bound)",
      expect: ["E_HTTP"],
      behaviour: on("manifest", ALWAYS, () => status(503, { "retry-after": "3600" })),
      sleeps: (s) => s.every((ms) => ms <= 60_000),
    },
    { name: "500 for a pack (once)", expect: "new", behaviour: on("pack", 1, () => status(500)) },
    { name: "500 for a pack (always)", expect: ["E_HTTP"], behaviour: on("pack", ALWAYS, () => status(500)) },
    { name: "416 for a pack", expect: ["E_RANGE"], behaviour: on("pack", ALWAYS, () => status(416)) },
    {
      name: "redirect to the same origin",
      expect: "new",
      behaviour: async (exchange, context) =>
        exchange.path.startsWith("/moved/")
          ? context.upstream(exchange.path.slice("/moved".length))
          : redirect(`/moved${exchange.path}`),
    },
    {
      name: "redirect to another origin (no Authorization/Cookie forwarded)",
      expect: "new",
      behaviour: async (exchange, context) =>
        exchange.origin === "other"
          ? context.upstream()
          : redirect(new URL(exchange.path.slice(1), context.otherUrl).toString()),
    },
    {
      name: "redirect loop",
      expect: ["E_HTTP"],
      behaviour: async (exchange) =>
        redirect(exchange.path.startsWith("/a/") ? exchange.path.slice(2) : `/a${exchange.path}`),
    },
    {
      name: "too many redirects (chain of 8)",
      expect: ["E_HTTP"],
      behaviour: async (exchange, context) => {
        const hops = /^\/hop(\d)\//.exec(exchange.path);
        const n = hops ? Number(hops[1]) : 0;
        const rest = hops ? exchange.path.slice(hops[0].length - 1) : exchange.path;
        return n >= 8 ? context.upstream(rest) : redirect(`/hop${n + 1}${rest}`);
      },
    },
    {
      name: "gzip bomb as a pack (Content-Encoding: gzip)",
      expect: ["E_ENCODING"],
      behaviour: on("pack", ALWAYS, (u) => ({
        ...u,
        headers: { ...withLength(u.headers, gzipBomb.length), "content-encoding": "gzip" },
        body: gzipBomb,
      })),
    },
    {
      name: "br bomb as the pointer",
      expect: ["E_ENCODING"],
      behaviour: on("pointer", ALWAYS, (u) => ({
        ...u,
        headers: { ...withLength(u.headers, brBomb.length), "content-encoding": "br" },
        body: brBomb,
      })),
    },
    {
      name: "stacked Content-Encodings (gzip, br) on the manifest",
      expect: ["E_ENCODING"],
      behaviour: on("manifest", ALWAYS, (u) => {
        const body = brotliCompressSync(gzipSync(u.body));
        return {
          ...u,
          headers: { ...withLength(u.headers, body.length), "content-encoding": "gzip, br" },
          body,
        };
      }),
    },
    {
      name: "multi-range answer with garbage parts",
      expect: "new",
      behaviour: on("pack", ALWAYS, (u, exchange) => {
        if (!exchange.range?.includes(",")) return u;
        const body = Buffer.from("--garbage\r\n\r\nnot a multipart body");
        return { ...u, body, headers: withLength(u.headers, body.length) };
      }),
    },
  ];
}

/** The faults the random faulty network (randomFaults) picks from. */
export type NetworkFault =
  | "5xx"
  | "cut"
  | "flip"
  | "drop-range"
  | "200-for-206"
  | "duplicate-part"
  | "overlapping-part"
  | "stall"
  | "crawl";

/** Counts of what randomFaults did, for the battery's report. */
export interface FaultTally {
  requests: number;
  faulted: number;
  readonly byFault: Map<NetworkFault, number>;
}

export function faultTally(): FaultTally {
  return { requests: 0, faulted: 0, byFault: new Map() };
}

type Part = { start: number; data: Uint8Array; total: number | undefined };

/** A multipart answer with its parts rewritten by `edit`; any other answer unchanged. */
export function rewriteParts(u: Upstream, edit: (parts: Part[]) => Part[]): Reply {
  const boundary = /boundary=([^;\s]+)/.exec(u.headers["content-type"] ?? "")?.[1];
  if (u.status !== 206 || !boundary) return u;
  const body = multipartBody(boundary, edit(parseMultipart(u.body, boundary, "upstream")));
  return { ...u, headers: withLength(u.headers, body.length), body };
}

/** A multipart/byteranges body of `parts` (RFC 9110 §14.6). */
function multipartBody(boundary: string, parts: readonly Part[]): Buffer {
  const pieces: Buffer[] = [];
  for (const p of parts) {
    const total = p.total === undefined ? "*" : String(p.total);
    pieces.push(
      Buffer.from(
        `\r\n--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes ${p.start}-${p.start + p.data.length - 1}/${total}\r\n\r\n`,
      ),
      Buffer.from(p.data),
    );
  }
  pieces.push(Buffer.from(`\r\n--${boundary}--\r\n`));
  return Buffer.concat(pieces);
}

/**
 * A network that lies: each request, with probability `rate`, gets one fault applicable to it (5xx, a body
 * cut short, one flipped byte, the Range header dropped, 200 with a range's bytes, a multi-range answer
 * with a repeated part or an overlapping part holding misplaced bytes, a stall, or a crawl of one byte
 * per `crawlMs`). Everything else passes unchanged.
 */
export function randomFaults(random: () => number, rate: number, tally: FaultTally, crawlMs = 20): Behaviour {
  return async (exchange, context) => {
    tally.requests++;
    if (random() >= rate) return context.upstream();
    if (exchange.range !== undefined && random() < 1 / 9) {
      count(tally, "drop-range");
      return context.upstream(exchange.path, {});
    }
    const u = await context.upstream();
    const boundary = /boundary=([^;\s]+)/.exec(u.headers["content-type"] ?? "")?.[1];
    const applicable: NetworkFault[] = ["5xx", "stall"];
    if (u.body.length > 0) applicable.push("cut", "flip", "crawl");
    if (u.status === 206 && !boundary) applicable.push("200-for-206");
    if (u.status === 206 && boundary) applicable.push("duplicate-part", "overlapping-part");
    const fault = applicable[Math.floor(random() * applicable.length)]!;
    count(tally, fault);
    switch (fault) {
      case "5xx":
        return status([500, 502, 503][Math.floor(random() * 3)]!);
      case "cut":
        return { ...u, cutAfter: Math.floor(random() * u.body.length) };
      case "flip": {
        const body = Buffer.from(u.body);
        const at = Math.floor(random() * body.length);
        body[at] = body[at]! ^ (1 + Math.floor(random() * 255));
        return { ...u, body };
      }
      case "200-for-206":
        return { ...u, status: 200, headers: withoutRange(u.headers) };
      case "stall":
        return { ...u, stallAfter: Math.floor(random() * u.body.length) };
      case "crawl":
        return { ...u, paceMs: crawlMs };
      case "drop-range":
        return u; // chosen above, before the upstream request
      case "duplicate-part":
      case "overlapping-part": {
        const parts = parseMultipart(u.body, boundary!, exchange.path);
        const pick = parts[Math.floor(random() * parts.length)]!;
        const extra =
          fault === "duplicate-part"
            ? pick
            : // The same bytes, labelled one byte later: overlaps the part and misplaces every byte.
              {
                ...pick,
                start: pick.start + 1,
                data: pick.data.subarray(0, Math.max(1, pick.data.length - 1)),
              };
        const at = Math.floor(random() * (parts.length + 1));
        const body = multipartBody(boundary!, [...parts.slice(0, at), extra, ...parts.slice(at)]);
        return { ...u, headers: withLength(u.headers, body.length), body };
      }
    }
  };
}

function count(tally: FaultTally, fault: NetworkFault): void {
  tally.faulted++;
  tally.byFault.set(fault, (tally.byFault.get(fault) ?? 0) + 1);
}
