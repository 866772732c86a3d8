import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { findNginx, startNginx } from "../../src/testing/nginx.js";
import { get } from "../helpers/raw-http.js";

/** Minimal multipart/byteranges parser; nginx starts the body with a CRLF before the first delimiter. */
function parseMultipart(body: Buffer, contentType: string): { range: string; type: string; body: Buffer }[] {
  const boundary = /boundary=("?)([^";]+)\1/.exec(contentType)?.[2];
  assert.ok(boundary, `no boundary in ${contentType}`);
  const delimiter = `--${boundary}`;
  const parts: { range: string; type: string; body: Buffer }[] = [];
  let pos = body.indexOf(delimiter);
  assert.ok(pos >= 0 && pos <= 2, "the body must open with a delimiter");
  for (;;) {
    pos += delimiter.length;
    if (body.subarray(pos, pos + 2).toString("latin1") === "--") return parts;
    const headerEnd = body.indexOf("\r\n\r\n", pos);
    const headers = new Map<string, string>();
    for (const line of body
      .subarray(pos + 2, headerEnd)
      .toString("latin1")
      .split("\r\n")) {
      const colon = line.indexOf(":");
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const range = headers.get("content-range") ?? "";
    const m = /^bytes (\d+)-(\d+)\/\d+$/.exec(range);
    assert.ok(m, `bad part Content-Range ${range}`);
    const start = headerEnd + 4;
    const end = start + Number(m[2]) - Number(m[1]) + 1;
    parts.push({ range, type: headers.get("content-type") ?? "", body: body.subarray(start, end) });
    assert.equal(body.subarray(end, end + 2 + delimiter.length).toString("latin1"), `\r\n${delimiter}`);
    pos = end + 2;
  }
}

const nginx = findNginx();
if (nginx === undefined && process.env.CI) {
  test("nginx is installed (required in CI)", () => {
    assert.fail(
      "nginx was not found on PATH or in /usr/sbin, /usr/local/sbin, /usr/local/nginx/sbin; CI must install it",
    );
  });
}

const HASH = "cd".repeat(32);
const content = Buffer.alloc(20_000);
for (let i = 0; i < content.length; i++) content[i] = (i * 13 + (i >> 7)) & 0xff;

describe("nginx integration", { skip: nginx === undefined ? "nginx not installed; skipping" : false }, () => {
  let dir: string;
  let server: Awaited<ReturnType<typeof startNginx>>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "ferry-nginx-test-"));
    await mkdir(join(dir, "packs"));
    await mkdir(join(dir, "manifests"));
    await mkdir(join(dir, "channels"));
    await writeFile(join(dir, "packs", `${HASH}.pack`), content);
    await writeFile(join(dir, "packs", `${HASH}.pack.tmp-1`), content);
    await writeFile(join(dir, "manifests", HASH), "manifest");
    await writeFile(join(dir, "channels", "stable.json"), '{"channel":"stable"}');
    server = await startNginx(dir);
  });

  after(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const pack = `/packs/${HASH}.pack`;

  test("full body", async () => {
    const r = await get(server.url, pack);
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-length"], String(content.length));
    assert.equal(r.headers["content-type"], "application/octet-stream");
    assert.deepEqual(r.body, content);
  });

  test("single range", async () => {
    const r = await get(server.url, pack, { range: "bytes=1000-1999" });
    assert.equal(r.status, 206);
    assert.equal(r.headers["content-range"], "bytes 1000-1999/20000");
    assert.deepEqual(r.body, content.subarray(1000, 2000));
  });

  test("multiple ranges: multipart/byteranges with exact parts", async () => {
    const r = await get(server.url, pack, { range: "bytes=0-9,5000-5099,-7" });
    assert.equal(r.status, 206);
    const type = r.headers["content-type"] ?? "";
    assert.match(type, /^multipart\/byteranges; boundary=/);
    assert.equal(Number(r.headers["content-length"]), r.body.length);
    const parts = parseMultipart(r.body, type);
    assert.deepEqual(
      parts.map((p) => p.range),
      ["bytes 0-9/20000", "bytes 5000-5099/20000", "bytes 19993-19999/20000"],
    );
    assert.deepEqual(parts[0]!.body, content.subarray(0, 10));
    assert.deepEqual(parts[1]!.body, content.subarray(5000, 5100));
    assert.deepEqual(parts[2]!.body, content.subarray(19993));
    for (const p of parts) assert.equal(p.type, "application/octet-stream");
  });

  test("ETag and If-None-Match give 304", async () => {
    const first = await get(server.url, pack);
    const etag = first.headers.etag ?? "";
    assert.match(etag, /^"[0-9a-f]+-[0-9a-f]+"$/, 'nginx\'s ETag is "<mtime hex>-<size hex>"');
    const r = await get(server.url, pack, { "if-none-match": etag });
    assert.equal(r.status, 304);
    assert.equal(r.body.length, 0);
    const channel = await get(server.url, "/channels/stable.json");
    const again = await get(server.url, "/channels/stable.json", {
      "if-none-match": channel.headers.etag ?? "",
    });
    assert.equal(again.status, 304);
  });

  test("Cache-Control as configured", async () => {
    const immutable = "public, max-age=31536000, immutable";
    assert.equal((await get(server.url, pack)).headers["cache-control"], immutable);
    assert.equal((await get(server.url, pack, { range: "bytes=0-0" })).headers["cache-control"], immutable);
    assert.equal((await get(server.url, `/manifests/${HASH}`)).headers["cache-control"], immutable);
    const channel = await get(server.url, "/channels/stable.json");
    assert.equal(channel.headers["cache-control"], "no-cache");
    assert.equal(channel.headers["content-type"], "application/json");
  });

  test("publisher temporaries are not served", async () => {
    assert.equal((await get(server.url, `${pack}.tmp-1`)).status, 404);
  });
});
