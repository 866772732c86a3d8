/**
 * The Transport port's contract as the client relies on it, run against any transport serving a given
 * set of repository objects (MemoryTransport, HttpTransport over the static server): statuses, ranges
 * (plain, suffix, open-ended, clamped, out of range, several), strong ETags and If-None-Match, If-Range,
 * cancellation.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { FerryError } from "../../src/core/errors.js";
import type { Transport, TransportResponse } from "../../src/ports/transport.js";

/** A transport serving `files` (path → bytes) under `base` (ending in '/'). */
export interface TransportUnderTest {
  readonly transport: Transport;
  readonly base: string;
}

type Make = (
  t: { after(fn: () => Promise<void>): void },
  files: ReadonlyMap<string, Uint8Array>,
) => Promise<TransportUnderTest>;

const HASH = "ab".repeat(32);
const FILES = new Map<string, Uint8Array>([
  ["ten.bin", new TextEncoder().encode("0123456789")],
  [`packs/${HASH}.pack`, new TextEncoder().encode("pack bytes")],
  ["channels/stable.json", new TextEncoder().encode('{"v":1}')],
]);

async function body(r: TransportResponse): Promise<string> {
  const parts: Uint8Array[] = [];
  for await (const p of r.body) parts.push(new Uint8Array(p));
  return Buffer.concat(parts).toString("latin1");
}

export function transportContract(name: string, make: Make): void {
  const cases: [string, (u: TransportUnderTest) => Promise<void>][] = [
    [
      "200 with the whole body, its length, Accept-Ranges; header names are case-insensitive",
      async ({ transport, base }) => {
        const r = await transport.get(`${base}ten.bin`);
        assert.equal(r.status, 200);
        assert.equal(r.url, `${base}ten.bin`);
        assert.equal(await body(r), "0123456789");
        assert.equal(r.header("Content-Length"), "10");
        assert.equal(r.header("accept-ranges"), "bytes");
        assert.equal(r.header("ACCEPT-RANGES"), "bytes");
      },
    ],
    [
      "404 for a missing object",
      async ({ transport, base }) => {
        const r = await transport.get(`${base}missing.bin`);
        assert.equal(r.status, 404);
        await r.cancel();
      },
    ],
    [
      "single ranges: plain, suffix, open-ended, clamped to the end",
      async ({ transport, base }) => {
        const cases: [string, string, string][] = [
          ["bytes=2-5", "2345", "bytes 2-5/10"],
          ["bytes=-3", "789", "bytes 7-9/10"],
          ["bytes=6-", "6789", "bytes 6-9/10"],
          ["bytes=8-100", "89", "bytes 8-9/10"],
          ["bytes=-100", "0123456789", "bytes 0-9/10"],
        ];
        for (const [range, expected, contentRange] of cases) {
          const r = await transport.get(`${base}ten.bin`, { headers: { Range: range } });
          assert.equal(r.status, 206, range);
          assert.equal(r.header("content-range"), contentRange, range);
          assert.equal(await body(r), expected, range);
        }
      },
    ],
    [
      "a range wholly past the end: 416 with the size in Content-Range",
      async ({ transport, base }) => {
        const r = await transport.get(`${base}ten.bin`, { headers: { Range: "bytes=10-20" } });
        assert.equal(r.status, 416);
        assert.equal(r.header("content-range"), "bytes */10");
        await r.cancel();
      },
    ],
    [
      "several ranges: 206 multipart/byteranges with one part per range, in request order",
      async ({ transport, base }) => {
        const r = await transport.get(`${base}ten.bin`, { headers: { Range: "bytes=7-8,0-1" } });
        assert.equal(r.status, 206);
        const boundary = /^multipart\/byteranges; boundary=(.+)$/.exec(r.header("content-type") ?? "")?.[1];
        assert.ok(boundary, r.header("content-type"));
        const text = await body(r);
        const parts = text.split(`--${boundary}`);
        assert.equal(parts.length, 4, text); // preamble, two parts, close delimiter
        assert.match(parts[1]!, /Content-Range: bytes 7-8\/10\r\n\r\n78\r\n$/);
        assert.match(parts[2]!, /Content-Range: bytes 0-1\/10\r\n\r\n01\r\n$/);
        assert.equal(parts[3], "--\r\n");
      },
    ],
    [
      "content-addressed objects carry their hash as a strong ETag and are immutable; If-None-Match gives 304",
      async ({ transport, base }) => {
        const url = `${base}packs/${HASH}.pack`;
        const r = await transport.get(url);
        assert.equal(r.header("etag"), `"${HASH}"`);
        assert.match(r.header("cache-control") ?? "", /immutable/);
        assert.equal(await body(r), "pack bytes");
        const again = await transport.get(url, { headers: { "If-None-Match": `"${HASH}"` } });
        assert.equal(again.status, 304);
        assert.equal(await body(again), "");
        const other = await transport.get(url, { headers: { "If-None-Match": `"${"cd".repeat(32)}"` } });
        assert.equal(other.status, 200);
        await other.cancel();
      },
    ],
    [
      "a pointer is revalidated (no-cache) and its ETag answers If-None-Match; If-Range with another tag sends it all",
      async ({ transport, base }) => {
        const url = `${base}channels/stable.json`;
        const r = await transport.get(url);
        assert.equal(r.header("cache-control"), "no-cache");
        assert.equal(r.header("content-type"), "application/json");
        const etag = r.header("etag");
        assert.match(etag ?? "", /^"[^"]+"$/);
        await r.cancel();
        const again = await transport.get(url, { headers: { "If-None-Match": etag! } });
        assert.equal(again.status, 304);
        const whole = await transport.get(url, { headers: { Range: "bytes=0-1", "If-Range": '"stale"' } });
        assert.equal(whole.status, 200);
        assert.equal(await body(whole), '{"v":1}');
        const ranged = await transport.get(url, { headers: { Range: "bytes=0-1", "If-Range": etag! } });
        assert.equal(ranged.status, 206);
        assert.equal(await body(ranged), '{"');
      },
    ],
    [
      "an aborted signal fails the request with E_ABORTED (or its FerryError reason)",
      async ({ transport, base }) => {
        const plain = new AbortController();
        plain.abort();
        await assert.rejects(transport.get(`${base}ten.bin`, { signal: plain.signal }), (e: unknown) => {
          assert.ok(e instanceof FerryError);
          assert.equal(e.code, "E_ABORTED");
          return true;
        });
        const typed = new AbortController();
        typed.abort(new FerryError("E_TIMEOUT", "deadline", { scope: "operation" }));
        await assert.rejects(transport.get(`${base}ten.bin`, { signal: typed.signal }), (e: unknown) => {
          assert.ok(e instanceof FerryError);
          assert.equal(e.code, "E_TIMEOUT");
          return true;
        });
      },
    ],
    [
      "cancel releases a response whose body is not read; later requests still work",
      async ({ transport, base }) => {
        for (let i = 0; i < 5; i++) await (await transport.get(`${base}ten.bin`)).cancel();
        assert.equal(await body(await transport.get(`${base}ten.bin`)), "0123456789");
      },
    ],
  ];
  for (const [title, run] of cases) {
    test(`Transport contract (${name}): ${title}`, async (t) => run(await make(t, FILES)));
  }
}
