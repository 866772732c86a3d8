import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { isFerryError } from "../../src/core/errors.js";
import { HttpTransport } from "../../src/node/http-transport.js";

async function listen(
  t: { after(fn: () => Promise<void>): void },
  handler: Parameters<typeof createServer>[1],
): Promise<string> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function readAll(body: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Uint8Array[] = [];
  for await (const part of body) parts.push(part);
  return Buffer.concat(parts).toString();
}

test("a stalled body fails with a retryable E_NETWORK after the idle timeout", async (t) => {
  const url = await listen(t, (_req, res) => {
    res.writeHead(200, { "content-length": "100" });
    res.write("partial"); // then nothing, forever
  });
  // 1 s, not less: on a loaded 2-core CI machine connecting alone can take a few hundred ms.
  const response = await new HttpTransport({ idleTimeoutMs: 1000 }).get(url);
  await assert.rejects(
    readAll(response.body),
    (e: unknown) => isFerryError(e, "E_NETWORK") && /stalled/.test(e.message),
  );
});

test("redirects are followed up to the cap, then refused with E_HTTP", async (t) => {
  let hops = 0;
  const url = await listen(t, (req, res) => {
    const n = Number(req.url!.slice(1));
    hops++;
    if (n < 3) res.writeHead(302, { location: `/${n + 1}` }).end();
    else res.writeHead(200).end("arrived");
  });
  const response = await new HttpTransport({ maxRedirects: 5 }).get(`${url}/0`);
  assert.equal(await readAll(response.body), "arrived");
  assert.equal(response.url, `${url}/3`);
  assert.equal(hops, 4);
  await assert.rejects(new HttpTransport({ maxRedirects: 2 }).get(`${url}/0`), (e: unknown) =>
    isFerryError(e, "E_HTTP"),
  );
});

test("credentials are not forwarded to another origin on redirect; Range is", async (t) => {
  let seen: IncomingHttpHeaders = {};
  const other = await listen(t, (req, res) => {
    seen = req.headers;
    res.writeHead(200).end("ok");
  });
  const first = await listen(t, (_req, res) => res.writeHead(302, { location: `${other}/x` }).end());
  const response = await new HttpTransport().get(first, {
    headers: { authorization: "Bearer secret", range: "bytes=0-1" },
  });
  assert.equal(await readAll(response.body), "ok");
  assert.equal(seen.authorization, undefined);
  assert.equal(seen.range, "bytes=0-1");
});

test("headers option: sent on every request, credentials dropped across origins, accept-encoding stays identity", async (t) => {
  const seen: IncomingHttpHeaders[] = [];
  const other = await listen(t, (req, res) => {
    seen.push(req.headers);
    res.writeHead(200).end("ok");
  });
  const first = await listen(t, (req, res) => {
    seen.push(req.headers);
    res.writeHead(302, { location: `${other}/x` }).end();
  });
  const transport = new HttpTransport({
    headers: {
      authorization: "Bearer secret",
      cookie: "a=b",
      "x-ferry-client": "test",
      "accept-encoding": "gzip",
    },
  });
  assert.equal(await readAll((await transport.get(first)).body), "ok");
  assert.equal(seen[0]!.authorization, "Bearer secret");
  assert.equal(seen[0]!.cookie, "a=b");
  assert.equal(seen[0]!["accept-encoding"], "identity");
  assert.equal(seen[1]!.authorization, undefined);
  assert.equal(seen[1]!.cookie, undefined);
  assert.equal(seen[1]!["x-ferry-client"], "test");
});

test("a Content-Encoding Ferry did not ask for is refused with E_ENCODING, never decoded", async (t) => {
  const { gzipSync } = await import("node:zlib");
  const bomb = gzipSync(Buffer.alloc(32 * 1024 * 1024));
  const url = await listen(t, (req, res) => {
    const encoding = req.url === "/stacked" ? "gzip, br" : req.url === "/identity" ? "identity" : "gzip";
    res.writeHead(200, { "content-encoding": encoding, "content-length": String(bomb.length) }).end(bomb);
  });
  for (const path of ["/gzip", "/stacked"]) {
    await assert.rejects(
      new HttpTransport().get(`${url}${path}`),
      (e: unknown) => isFerryError(e, "E_ENCODING") && e.data.url === `${url}${path}`,
    );
  }
  const identity = await new HttpTransport().get(`${url}/identity`);
  let bytes = 0;
  for await (const part of identity.body) bytes += part.length;
  assert.equal(bytes, bomb.length, "identity passes through undecoded");
});
