/**
 * Hostile servers that target trust (docs/SECURITY.md): credentials must not cross origins, and endless,
 * oversized or compressed-bomb bodies are cut at their caps while streaming. Every server here is a
 * tiny handler on 127.0.0.1 in front of a forged, correctly signed repository.
 */
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { constants, createBrotliCompress, createGzip } from "node:zlib";
import { update } from "../../src/client/ops/update.js";
import { isFerryError } from "../../src/core/errors.js";
import { MAX_POINTER_BYTES } from "../../src/core/pointer.js";
import { HttpTransport } from "../../src/node/http-transport.js";
import type { Transport } from "../../src/ports/transport.js";
import { forgeRelease } from "../../src/testing/release-forge.js";
import { keys, tempDir } from "../helpers/helpers.js";
import { sandboxListing } from "../helpers/sandbox-hash.js";

type Handler = (path: string, headers: IncomingHttpHeaders, res: ServerResponse) => Promise<void> | void;

interface Seen {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
}

/** A loopback server that records every request and answers with `handler`. */
async function hostile(t: { after(fn: () => Promise<void>): void }, handler: Handler) {
  const seen: Seen[] = [];
  let closedEarly = 0;
  const server = createServer((req, res) => {
    seen.push({ path: req.url ?? "", headers: req.headers });
    res.on("close", () => {
      if (!res.writableFinished) closedEarly++;
    });
    Promise.resolve(handler(req.url ?? "", req.headers, res)).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return { url, seen, closedEarly: () => closedEarly };
}

/** Serves a repository directory as-is. */
function files(repo: string): Handler {
  return async (path, _headers, res) => {
    try {
      const body = await readFile(join(repo, decodeURIComponent(path.split("?")[0]!)));
      res.writeHead(200, { "content-length": body.length }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  };
}

/** Counts the body bytes the client actually consumed through its transport. */
function counting(inner: Transport): Transport & { consumed: Map<string, number> } {
  const consumed = new Map<string, number>();
  return {
    consumed,
    async get(url, request) {
      const response = await inner.get(url, request);
      const body = response.body;
      return {
        ...response,
        header: (name: string) => response.header(name),
        body: (async function* () {
          for await (const part of body) {
            consumed.set(url, (consumed.get(url) ?? 0) + part.length);
            yield part;
          }
        })(),
      };
    },
  };
}

/** Writes `chunk` forever (until the client goes away). */
function endless(res: ServerResponse, chunk: Buffer): void {
  if (!res.headersSent) res.writeHead(200, { "content-type": "application/json" });
  const pump = (): void => {
    while (!res.destroyed && res.write(chunk));
    if (!res.destroyed) res.once("drain", pump);
  };
  pump();
}

async function compressed(kind: "gzip" | "br", mib: number): Promise<Buffer> {
  const stream =
    kind === "gzip"
      ? createGzip({ level: 9 })
      : createBrotliCompress({
          params: { [constants.BROTLI_PARAM_QUALITY]: 4, [constants.BROTLI_PARAM_LGWIN]: 24 },
        });
  const parts: Buffer[] = [];
  stream.on("data", (d: Buffer) => parts.push(d));
  const zeros = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < mib; i++) if (!stream.write(zeros)) await new Promise((r) => stream.once("drain", r));
  await new Promise<void>((resolve) => stream.end(resolve));
  return Buffer.concat(parts);
}

async function signedRepo(t: Parameters<typeof tempDir>[0]) {
  const dir = await tempDir(t);
  const repo = join(dir, "repo");
  const { key, pub } = keys();
  const release = await forgeRelease({
    repo,
    key,
    serial: 1,
    version: "1",
    files: [{ path: "a.txt", data: Buffer.from("hello") }],
  });
  return { dir, repo, pub, release, install: join(dir, "sandbox", "install") };
}

function code(expected: string) {
  return (e: unknown): boolean => {
    assert.ok(isFerryError(e), `expected a FerryError, got ${String(e)}`);
    assert.equal(e.code, expected, e.message);
    return true;
  };
}

test("a cross-origin redirect does not carry the caller's Authorization or Cookie header", async (t) => {
  const s = await signedRepo(t);
  const other = await hostile(t, files(s.repo));
  const first = await hostile(t, (path, _h, res) => {
    res.writeHead(302, { location: new URL(path.slice(1), other.url).toString() }).end();
  });
  // The transport has no option for caller headers; a wrapping Transport is how a caller adds them.
  const http = new HttpTransport();
  const withCredentials: Transport = {
    get: (url, request) =>
      http.get(url, {
        ...request,
        headers: { ...request?.headers, authorization: "Bearer s3cret", cookie: "session=s3cret" },
      }),
  };
  const summary = await update({
    repoUrl: first.url,
    installDir: s.install,
    trust: [s.pub],
    transport: withCredentials,
    maxAttempts: 1,
  });
  assert.equal(summary.version, "1");
  assert.ok(first.seen.length >= 3, "pointer, manifest and pack went through the redirecting origin");
  assert.ok(
    first.seen.every((r) => r.headers.authorization === "Bearer s3cret"),
    "same origin: sent",
  );
  assert.ok(other.seen.length >= 3);
  for (const r of other.seen) {
    assert.equal(r.headers.authorization, undefined, `${r.path}: no Authorization at the other origin`);
    assert.equal(r.headers.cookie, undefined, `${r.path}: no Cookie at the other origin`);
  }
});

test("userinfo in the repository URL or in a redirect never reaches a server as credentials", async (t) => {
  const s = await signedRepo(t);
  const other = await hostile(t, files(s.repo));
  const withUserinfo = new URL(other.url);
  withUserinfo.username = "user";
  withUserinfo.password = "s3cret";
  await assert.rejects(
    update({ repoUrl: withUserinfo.toString(), installDir: s.install, trust: [s.pub] }),
    (e: unknown) => isFerryError(e) && e.code === "E_USAGE" && !e.message.includes("s3cret"),
  );
  const first = await hostile(t, (path, _h, res) => {
    res.writeHead(302, { location: new URL(path.slice(1), withUserinfo).toString() }).end();
  });
  await assert.rejects(
    update({ repoUrl: first.url, installDir: s.install, trust: [s.pub], maxAttempts: 1 }),
    (e: unknown) => isFerryError(e),
  );
  assert.equal(first.seen.length, 1, "the redirecting server was asked once");
  for (const r of other.seen) assert.equal(r.headers.authorization, undefined, r.path);
  assert.equal(other.seen.length, 0, "a URL with userinfo is never requested at all (fetch refuses it)");
});

test("an endless pointer body is cut at the 64 KiB cap while streaming", async (t) => {
  const s = await signedRepo(t);
  const server = await hostile(t, (path, _h, res) => {
    if (path.startsWith("/channels/")) endless(res, Buffer.alloc(16 * 1024, 0x20));
    else res.writeHead(404).end();
  });
  const transport = counting(new HttpTransport());
  await assert.rejects(
    update({ repoUrl: server.url, installDir: s.install, trust: [s.pub], transport, maxAttempts: 1 }),
    code("E_TOO_LARGE"),
  );
  const read = [...transport.consumed.values()].reduce((a, b) => a + b, 0);
  t.diagnostic(`pointer bytes read: ${read} (cap ${MAX_POINTER_BYTES})`);
  assert.ok(read > MAX_POINTER_BYTES, "the cap was reached");
  assert.ok(read <= MAX_POINTER_BYTES + 64 * 1024, `${read} bytes read: at most one chunk past the cap`);
  for (let i = 0; i < 100 && server.closedEarly() === 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(server.closedEarly(), 1, "the connection was closed, not drained");
});

test("a gzip bomb sent as the pointer (Content-Encoding despite the identity request) is refused, never inflated", async (t) => {
  const s = await signedRepo(t);
  // 32 MiB inflated from ~32 KB, below the 64 KiB cap on the wire: refused for its unrequested encoding
  // (E_ENCODING) before any inflation.
  const bomb = await compressed("gzip", 32);
  assert.ok(bomb.length < MAX_POINTER_BYTES);
  const server = await hostile(t, (path, _h, res) => {
    if (path.startsWith("/channels/")) res.writeHead(200, { "content-encoding": "gzip" }).end(bomb);
    else res.writeHead(404).end();
  });
  const transport = counting(new HttpTransport());
  const before = process.resourceUsage().maxRSS;
  await assert.rejects(
    update({ repoUrl: server.url, installDir: s.install, trust: [s.pub], transport, maxAttempts: 1 }),
    code("E_ENCODING"),
  );
  const read = [...transport.consumed.values()].reduce((a, b) => a + b, 0);
  const growthMiB = (process.resourceUsage().maxRSS - before) / 1024;
  t.diagnostic(
    `gzip bomb of ${bomb.length} bytes (32 MiB inflated): ${read} inflated bytes read, peak RSS +${growthMiB.toFixed(1)} MiB`,
  );
  assert.ok(read <= MAX_POINTER_BYTES + 64 * 1024, `${read}`);
  assert.ok(growthMiB < 64, `${growthMiB} MiB`);
});

test("a manifest larger than the pointer's pinned size is cut at that size", async (t) => {
  const s = await signedRepo(t);
  const server = await hostile(t, async (path, headers, res) => {
    if (path.startsWith("/manifests/")) {
      const real = await readFile(join(s.repo, path));
      // The real bytes first, then garbage forever: a stream that never ends.
      res.writeHead(200);
      res.write(real);
      endless(res, Buffer.alloc(4096, 0x41));
    } else await files(s.repo)(path, headers, res);
  });
  const transport = counting(new HttpTransport());
  const listing = await sandboxListing(join(s.dir, "repo"));
  await assert.rejects(
    update({ repoUrl: server.url, installDir: s.install, trust: [s.pub], transport, maxAttempts: 1 }),
    code("E_TOO_LARGE"),
  );
  const manifestRead = [...transport.consumed].find(([url]) => url.includes("/manifests/"))?.[1] ?? 0;
  t.diagnostic(`manifest pinned at ${s.release.manifestSize} bytes; ${manifestRead} read`);
  assert.ok(manifestRead <= s.release.manifestSize + 64 * 1024, `${manifestRead}`);
  assert.deepEqual(await sandboxListing(join(s.dir, "repo")), listing);
});

test("a compression bomb served as the manifest is refused, never inflated past its caps", async (t) => {
  const s = await signedRepo(t);
  const brBomb = await compressed("br", 1024);
  const gzBomb = await compressed("gzip", 256);
  for (const [name, send] of [
    // The stored object replaced by a brotli bomb: the pin (hash) fails before any decoding.
    ["brotli bomb as the object", (res: ServerResponse) => res.writeHead(200).end(brBomb)],
    // The same as HTTP content-encoding: refused for its unrequested encoding, never inflated.
    [
      "gzip bomb as Content-Encoding",
      (res: ServerResponse) => res.writeHead(200, { "content-encoding": "gzip" }).end(gzBomb),
    ],
    [
      "brotli bomb as Content-Encoding",
      (res: ServerResponse) => res.writeHead(200, { "content-encoding": "br" }).end(brBomb),
    ],
  ] as const) {
    const server = await hostile(t, async (path, headers, res) => {
      if (path.startsWith("/manifests/")) send(res);
      else await files(s.repo)(path, headers, res);
    });
    const transport = counting(new HttpTransport());
    const before = process.resourceUsage().maxRSS;
    await assert.rejects(
      update({ repoUrl: server.url, installDir: s.install, trust: [s.pub], transport, maxAttempts: 1 }),
      (e: unknown) =>
        isFerryError(e) &&
        (name.includes("Content-Encoding")
          ? e.code === "E_ENCODING"
          : e.code === "E_HASH_MISMATCH" || e.code === "E_TOO_LARGE"),
      name,
    );
    const read = [...transport.consumed].find(([url]) => url.includes("/manifests/"))?.[1] ?? 0;
    const growthMiB = (process.resourceUsage().maxRSS - before) / 1024;
    t.diagnostic(`${name}: ${read} bytes read, peak RSS +${growthMiB.toFixed(1)} MiB over the earlier peak`);
    assert.ok(read <= s.release.manifestSize + 64 * 1024, `${name}: ${read}`);
    assert.ok(growthMiB < 64, `${name}: ${growthMiB} MiB`);
  }
});
