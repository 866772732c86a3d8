import "../../src/register-node.js";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { serveRepository } from "../../src/server/static-server.js";
import { startHostileProxy } from "../../src/testing/hostile-proxy.js";
import { get } from "../helpers/raw-http.js";

const content = Buffer.alloc(50_000);
for (let i = 0; i < content.length; i++) content[i] = (i * 7 + (i >> 9)) & 0xff;
const HASH = "ab".repeat(32);
const pack = `/packs/${HASH}.pack`;

let dir: string;
let upstream: Awaited<ReturnType<typeof serveRepository>>;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "ferry-proxy-test-"));
  await mkdir(join(dir, "packs"));
  await writeFile(join(dir, "packs", `${HASH}.pack`), content);
  upstream = await serveRepository({ root: dir });
});

after(async () => {
  await upstream.close();
  await rm(dir, { recursive: true, force: true });
});

async function withProxy(
  behaviour: Parameters<typeof startHostileProxy>[1],
  body: (proxy: Awaited<ReturnType<typeof startHostileProxy>>) => Promise<void>,
): Promise<void> {
  const proxy = await startHostileProxy(upstream.url, behaviour);
  try {
    await body(proxy);
  } finally {
    await proxy.close();
  }
}

describe("hostile proxy", () => {
  test("pass: ranges and headers go through unchanged, stats record requests", async () => {
    await withProxy({ ranges: "pass" }, async (proxy) => {
      assert.match(proxy.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      const single = await get(proxy.url, pack, { range: "bytes=10-19" });
      assert.equal(single.status, 206);
      assert.equal(single.headers["content-range"], "bytes 10-19/50000");
      assert.equal(single.headers.etag, `"${HASH}"`);
      assert.equal(single.headers["cache-control"], "public, max-age=31536000, immutable");
      assert.deepEqual(single.body, content.subarray(10, 20));
      const multi = await get(proxy.url, pack, { range: "bytes=0-1,100-101" });
      assert.equal(multi.status, 206);
      assert.match(multi.headers["content-type"] ?? "", /^multipart\/byteranges/);
      const full = await get(proxy.url, pack);
      assert.deepEqual(full.body, content);
      const notModified = await get(proxy.url, pack, { "if-none-match": `"${HASH}"` });
      assert.equal(notModified.status, 304);
      const missing = await get(proxy.url, "/packs/nothing");
      assert.equal(missing.status, 404);

      assert.equal(proxy.stats.requests, 5);
      assert.deepEqual(proxy.stats.paths, [pack, pack, pack, pack, "/packs/nothing"]);
      assert.deepEqual(proxy.stats.rangeHeaders, ["bytes=10-19", "bytes=0-1,100-101", "", "", ""]);
      assert.equal(proxy.stats.bytesSent, 10 + multi.body.length + content.length + missing.body.length);
    });
  });

  test("HEAD passes through without a body", async () => {
    await withProxy({}, async (proxy) => {
      const head = await get(proxy.url, pack, {}, "HEAD");
      assert.equal(head.status, 200);
      assert.equal(head.headers["content-length"], String(content.length));
      assert.equal(head.body.length, 0);
    });
  });

  test("ranges: none strips every Range header (200 full body)", async () => {
    await withProxy({ ranges: "none" }, async (proxy) => {
      const r = await get(proxy.url, pack, { range: "bytes=10-19" });
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, content);
      assert.deepEqual(proxy.stats.rangeHeaders, ["bytes=10-19"]);
    });
  });

  test("ranges: no-multi strips only multi-range headers", async () => {
    await withProxy({ ranges: "no-multi" }, async (proxy) => {
      const single = await get(proxy.url, pack, { range: "bytes=10-19" });
      assert.equal(single.status, 206);
      assert.deepEqual(single.body, content.subarray(10, 20));
      const multi = await get(proxy.url, pack, { range: "bytes=0-1,100-101" });
      assert.equal(multi.status, 200);
      assert.deepEqual(multi.body, content);
    });
  });

  test("failFirst answers the first n requests with failStatus without forwarding", async () => {
    await withProxy({ failFirst: 2 }, async (proxy) => {
      assert.equal((await get(proxy.url, pack)).status, 503);
      assert.equal((await get(proxy.url, pack)).status, 503);
      const ok = await get(proxy.url, pack);
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.body, content);
      assert.equal(proxy.stats.requests, 3);
      proxy.setBehaviour({ failFirst: 1, failStatus: 500 });
      assert.equal((await get(proxy.url, pack)).status, 500);
      assert.equal((await get(proxy.url, pack)).status, 200);
    });
  });

  test("truncateAfterBytes sends the original headers, k bytes, then drops the connection", async () => {
    await withProxy({ truncateAfterBytes: 1000 }, async (proxy) => {
      const cut = await get(proxy.url, pack);
      assert.equal(cut.status, 200);
      assert.equal(cut.headers["content-length"], String(content.length));
      assert.ok(cut.error, "the client must see the connection drop");
      assert.equal(cut.body.length, 1000);
      assert.deepEqual(cut.body, content.subarray(0, 1000));
      // Default truncateCount is 1: the retry gets everything.
      const retry = await get(proxy.url, pack, { range: "bytes=1000-" });
      assert.equal(retry.status, 206);
      assert.equal(retry.error, undefined);
      assert.deepEqual(retry.body, content.subarray(1000));
      assert.equal(proxy.stats.bytesSent, content.length);
    });
  });

  test("truncateCount cuts m responses and leaves short bodies alone", async () => {
    await withProxy({ truncateAfterBytes: 100, truncateCount: 2 }, async (proxy) => {
      const short = await get(proxy.url, pack, { range: "bytes=0-99" });
      assert.equal(short.error, undefined, "a body of exactly k bytes is not cut");
      assert.equal(short.body.length, 100);
      for (let i = 0; i < 2; i++) {
        const cut = await get(proxy.url, pack, { range: "bytes=0-999" });
        assert.equal(cut.status, 206);
        assert.ok(cut.error);
        assert.deepEqual(cut.body, content.subarray(0, 100));
      }
      const whole = await get(proxy.url, pack, { range: "bytes=0-999" });
      assert.equal(whole.error, undefined);
      assert.deepEqual(whole.body, content.subarray(0, 1000));
    });
  });

  test("truncateAfterBytes: 0 sends only the headers; HEAD and 304 do not use up a cut", async () => {
    await withProxy({ truncateAfterBytes: 0 }, async (proxy) => {
      assert.equal((await get(proxy.url, pack, {}, "HEAD")).error, undefined);
      assert.equal((await get(proxy.url, pack, { "if-none-match": `"${HASH}"` })).status, 304);
      const cut = await get(proxy.url, pack);
      assert.equal(cut.status, 200);
      assert.equal(cut.headers["content-length"], String(content.length));
      assert.ok(cut.error);
      assert.equal(cut.body.length, 0);
    });
  });

  test("delayMs delays each response", async () => {
    await withProxy({ delayMs: 150 }, async (proxy) => {
      const started = performance.now();
      const r = await get(proxy.url, pack, { range: "bytes=0-0" });
      assert.equal(r.status, 206);
      assert.ok(performance.now() - started >= 140);
      proxy.setBehaviour({});
      const quick = performance.now();
      await get(proxy.url, pack, { range: "bytes=0-0" });
      assert.ok(performance.now() - quick < 140);
    });
  });

  test("an unreachable upstream answers 502", async () => {
    const dead = await serveRepository({ root: dir });
    const url = dead.url;
    await dead.close();
    const proxy = await startHostileProxy(url, {});
    try {
      assert.equal((await get(proxy.url, pack)).status, 502);
    } finally {
      await proxy.close();
    }
  });

  test("an upstream path prefix is kept", async () => {
    const proxy = await startHostileProxy(`${upstream.url}packs/`, {});
    try {
      const r = await get(proxy.url, `/${HASH}.pack`, { range: "bytes=0-3" });
      assert.equal(r.status, 206);
      assert.deepEqual(r.body, content.subarray(0, 4));
    } finally {
      await proxy.close();
    }
  });
});
