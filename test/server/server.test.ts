import "../../src/register-node.js";
import assert from "node:assert/strict";
import { request } from "node:http";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { formatListenMessage, serveRepository } from "../../src/server/static-server.js";
import { get } from "../helpers/raw-http.js";

interface Part {
  headers: Record<string, string>;
  body: Buffer;
}

/** Minimal multipart/byteranges parser: strict about delimiters so a wrong Content-Length shows up. */
function parseMultipart(body: Buffer, contentType: string): Part[] {
  const boundary = /boundary=("?)([^";]+)\1/.exec(contentType)?.[2];
  assert.ok(boundary, `no boundary in ${contentType}`);
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Part[] = [];
  let pos = body.indexOf(delimiter);
  assert.ok(pos >= 0, "no first delimiter");
  assert.ok(/^(\r\n)?$/.test(body.subarray(0, pos).toString("latin1")), "unexpected preamble");
  for (;;) {
    pos += delimiter.length;
    if (body.subarray(pos, pos + 2).toString("latin1") === "--") {
      assert.equal(body.subarray(pos + 2).toString("latin1"), "\r\n", "bytes after the close delimiter");
      return parts;
    }
    assert.equal(body.subarray(pos, pos + 2).toString("latin1"), "\r\n");
    const headerEnd = body.indexOf("\r\n\r\n", pos);
    assert.ok(headerEnd >= 0, "unterminated part headers");
    const headers: Record<string, string> = {};
    for (const line of body
      .subarray(pos + 2, headerEnd)
      .toString("latin1")
      .split("\r\n")) {
      const colon = line.indexOf(":");
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(headers["content-range"] ?? "");
    assert.ok(range, `bad part Content-Range ${headers["content-range"]}`);
    // Use the part's own Content-Range for its length, then require the next delimiter right after it.
    const start = headerEnd + 4;
    const end = start + Number(range[2]) - Number(range[1]) + 1;
    parts.push({ headers, body: body.subarray(start, end) });
    assert.equal(body.subarray(end, end + 2 + delimiter.length).toString("latin1"), `\r\n--${boundary}`);
    pos = end + 2;
  }
}

const HASH = createHash("sha256").update("pack").digest("hex");
const content = Buffer.alloc(10_000);
for (let i = 0; i < content.length; i++) content[i] = (i * 31 + (i >> 8)) & 0xff;
const SECRET = "TOP-SECRET-OUTSIDE-ROOT";

let dir: string;
let base: string;
let close: () => Promise<void>;
const packPath = `/packs/${HASH}.pack`;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "ferry-server-test-"));
  const root = join(dir, "repo");
  await mkdir(join(root, "packs"), { recursive: true });
  await mkdir(join(root, "channels"));
  await mkdir(join(root, "manifests"));
  await mkdir(join(dir, "outside"));
  await writeFile(join(dir, "outside", "secret.txt"), SECRET);
  await writeFile(join(root, "packs", `${HASH}.pack`), content);
  await writeFile(join(root, "packs", `${HASH}.pack.tmp-1234`), content);
  await writeFile(join(root, "manifests", HASH), "manifest");
  await writeFile(join(root, "channels", "stable.json"), '{"channel":"stable"}');
  await writeFile(join(root, "empty.bin"), "");
  await writeFile(join(root, "big.bin"), Buffer.alloc(16 * 1024 * 1024, 7));
  await symlink(join(dir, "outside", "secret.txt"), join(root, "packs", "escape.pack"));
  await symlink(join(dir, "outside"), join(root, "outdir"));
  await symlink(join(root, "channels", "stable.json"), join(root, "channels", "alias.json"));
  const server = await serveRepository({ root });
  base = server.url;
  close = server.close;
});

after(async () => {
  await close();
  await rm(dir, { recursive: true, force: true });
});

describe("static server", () => {
  test("url and listen message", () => {
    assert.match(base, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.equal(formatListenMessage(base), `Serving ${base} (Ctrl-C to stop)`);
  });

  test("200 full body with Content-Length and Content-Type", async () => {
    const r = await get(base, packPath);
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-length"], String(content.length));
    assert.equal(r.headers["content-type"], "application/octet-stream");
    assert.equal(r.headers["accept-ranges"], "bytes");
    assert.deepEqual(r.body, content);
    const json = await get(base, "/channels/stable.json");
    assert.equal(json.headers["content-type"], "application/json");
    assert.equal(json.body.toString(), '{"channel":"stable"}');
  });

  test("query strings are ignored", async () => {
    const r = await get(base, `${packPath}?v=1`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, content);
  });

  test("HEAD has headers and no body, and ignores Range", async () => {
    const r = await get(base, packPath, { range: "bytes=0-9" }, "HEAD");
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-length"], String(content.length));
    assert.equal(r.body.length, 0);
  });

  test("other methods get 405 with Allow", async () => {
    for (const method of ["POST", "PUT", "DELETE", "OPTIONS"]) {
      const r = await get(base, packPath, {}, method);
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.allow, "GET, HEAD");
    }
  });

  test("single range", async () => {
    const r = await get(base, packPath, { range: "bytes=100-199" });
    assert.equal(r.status, 206);
    assert.equal(r.headers["content-range"], `bytes 100-199/${content.length}`);
    assert.equal(r.headers["content-length"], "100");
    assert.deepEqual(r.body, content.subarray(100, 200));
  });

  test("open-ended, suffix and clamped ranges", async () => {
    const open = await get(base, packPath, { range: "bytes=9990-" });
    assert.equal(open.status, 206);
    assert.equal(open.headers["content-range"], "bytes 9990-9999/10000");
    assert.deepEqual(open.body, content.subarray(9990));
    const suffix = await get(base, packPath, { range: "bytes=-25" });
    assert.equal(suffix.status, 206);
    assert.equal(suffix.headers["content-range"], "bytes 9975-9999/10000");
    assert.deepEqual(suffix.body, content.subarray(9975));
    const longSuffix = await get(base, packPath, { range: "bytes=-99999" });
    assert.equal(longSuffix.headers["content-range"], "bytes 0-9999/10000");
    assert.deepEqual(longSuffix.body, content);
    const clamped = await get(base, packPath, { range: "bytes=9000-99999999999999999999" });
    assert.equal(clamped.headers["content-range"], "bytes 9000-9999/10000");
    assert.deepEqual(clamped.body, content.subarray(9000));
  });

  test("multiple ranges: multipart/byteranges with exact parts and Content-Length", async () => {
    const r = await get(base, packPath, { range: "bytes=0-9, 5000-5099,-3" });
    assert.equal(r.status, 206);
    const type = r.headers["content-type"] ?? "";
    assert.match(type, /^multipart\/byteranges; boundary=/);
    assert.equal(r.headers["content-range"], undefined);
    assert.equal(Number(r.headers["content-length"]), r.body.length);
    const parts = parseMultipart(r.body, type);
    const expected = [
      [0, 9],
      [5000, 5099],
      [9997, 9999],
    ] as const;
    assert.equal(parts.length, expected.length);
    parts.forEach((part, i) => {
      const [a, b] = expected[i]!;
      assert.equal(part.headers["content-type"], "application/octet-stream");
      assert.equal(part.headers["content-range"], `bytes ${a}-${b}/10000`);
      assert.deepEqual(part.body, content.subarray(a, b + 1));
    });
    // Content-Length computed independently: the multipart framing plus the payload bytes.
    const framing = r.body.length - parts.reduce((n, p) => n + p.body.length, 0);
    assert.ok(framing > 0 && framing < 1000);
  });

  test("200 ranges are served, 201 fall back to the full body", async () => {
    const spec = (n: number) =>
      `bytes=${Array.from({ length: n }, (_, i) => `${i * 40}-${i * 40 + 9}`).join(",")}`;
    const many = await get(base, packPath, { range: spec(200) });
    assert.equal(many.status, 206);
    const parts = parseMultipart(many.body, many.headers["content-type"] ?? "");
    assert.equal(parts.length, 200);
    assert.deepEqual(parts[199]!.body, content.subarray(7960, 7970));
    const tooMany = await get(base, packPath, { range: spec(201) });
    assert.equal(tooMany.status, 200);
    assert.deepEqual(tooMany.body, content);
  });

  test("unsatisfiable parts are dropped; overlaps larger than the file get the full body", async () => {
    const one = await get(base, packPath, { range: "bytes=0-9,20000-20010" });
    assert.equal(one.status, 206);
    assert.equal(one.headers["content-range"], "bytes 0-9/10000");
    assert.deepEqual(one.body, content.subarray(0, 10));
    const amplified = await get(base, packPath, { range: "bytes=0-,0-,0-" });
    assert.equal(amplified.status, 200);
    assert.equal(amplified.body.length, content.length);
  });

  test("416 with Content-Range bytes */size", async () => {
    for (const range of ["bytes=10000-", "bytes=20000-30000", "bytes=-0", "bytes=10000-10001,-0"]) {
      const r = await get(base, packPath, { range });
      assert.equal(r.status, 416, range);
      assert.equal(r.headers["content-range"], "bytes */10000");
    }
  });

  test("invalid or foreign Range headers are ignored (200 full)", async () => {
    for (const range of [
      "bytes=abc",
      "bytes=9-3",
      "bytes=",
      "bytes=-",
      "items=0-5",
      "bytes 0-5",
      "bytes=0-5;x",
      "bytes=1-2-3",
    ]) {
      const r = await get(base, packPath, { range });
      assert.equal(r.status, 200, range);
      assert.deepEqual(r.body, content, range);
    }
  });

  test("an empty file ignores Range", async () => {
    const r = await get(base, "/empty.bin", { range: "bytes=0-" });
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-length"], "0");
  });

  test("If-Range: a matching ETag keeps the range, anything else sends the full body", async () => {
    const etag = `"${HASH}"`;
    const match = await get(base, packPath, { range: "bytes=0-1", "if-range": etag });
    assert.equal(match.status, 206);
    const other = await get(base, packPath, { range: "bytes=0-1", "if-range": '"other"' });
    assert.equal(other.status, 200);
    const date = await get(base, packPath, { range: "bytes=0-1", "if-range": new Date().toUTCString() });
    assert.equal(date.status, 200);
  });

  test("ETag and If-None-Match", async () => {
    const pack = await get(base, packPath);
    assert.equal(pack.headers.etag, `"${HASH}"`);
    const manifest = await get(base, `/manifests/${HASH}`);
    assert.equal(manifest.headers.etag, `"${HASH}"`);
    const channel = await get(base, "/channels/stable.json");
    const tag = channel.headers.etag ?? "";
    assert.match(tag, /^"[0-9a-f]+-[0-9a-f]+-[0-9a-f]+"$/);

    for (const inm of [`"${HASH}"`, `"nope", W/"${HASH}"`, "*"]) {
      const r = await get(base, packPath, { "if-none-match": inm, range: "bytes=0-5" });
      assert.equal(r.status, 304, inm);
      assert.equal(r.body.length, 0);
      assert.equal(r.headers.etag, `"${HASH}"`);
      assert.equal(r.headers["cache-control"], "public, max-age=31536000, immutable");
    }
    assert.equal((await get(base, "/channels/stable.json", { "if-none-match": tag })).status, 304);
    assert.equal((await get(base, packPath, { "if-none-match": '"nope"' })).status, 200);
    assert.equal((await get(base, packPath, { "if-none-match": tag })).status, 200);
  });

  test("a channel pointer replaced by rename gets a new ETag", async () => {
    const before = (await get(base, "/channels/stable.json")).headers.etag;
    const file = join(dir, "repo", "channels", "stable.json");
    const temp = `${file}.tmp-x`;
    await writeFile(temp, '{"channel":"stable"}');
    await rename(temp, file);
    const after = await get(base, "/channels/stable.json", { "if-none-match": before ?? "" });
    assert.equal(after.status, 200);
    assert.notEqual(after.headers.etag, before);
  });

  test("Cache-Control: immutable for content-addressed objects, no-cache otherwise", async () => {
    const immutable = "public, max-age=31536000, immutable";
    assert.equal((await get(base, packPath)).headers["cache-control"], immutable);
    assert.equal((await get(base, `/manifests/${HASH}`)).headers["cache-control"], immutable);
    assert.equal((await get(base, packPath, { range: "bytes=0-0" })).headers["cache-control"], immutable);
    assert.equal((await get(base, "/channels/stable.json")).headers["cache-control"], "no-cache");
    assert.equal((await get(base, "/empty.bin")).headers["cache-control"], "no-cache");
  });

  test("traversal attempts are 404 and never leak files outside the root", async () => {
    const attempts = [
      "/../outside/secret.txt",
      "/%2e%2e/outside/secret.txt",
      "/%2E%2E/outside/secret.txt",
      "/packs/../../outside/secret.txt",
      "/packs/..%2f..%2foutside%2fsecret.txt",
      "/packs/%2e%2e%2f%2e%2e%2foutside%2fsecret.txt",
      "/..%5coutside%5csecret.txt",
      "/packs%5c..%5c..%5coutside%5csecret.txt",
      "/./packs/x",
      "/packs//x",
      "/packs/x%00.pack",
      "/%",
      "/outdir/secret.txt",
      "/../../../../../../etc/passwd",
      "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    ];
    for (const path of attempts) {
      const r = await get(base, path);
      assert.equal(r.status, 404, path);
      assert.ok(!r.body.toString().includes(SECRET), path);
      assert.ok(!r.body.toString().includes("root:"), path);
    }
  });

  test("absolute-form request targets are refused", async () => {
    const r = await get(base, `http://example.com/packs/${HASH}.pack`);
    assert.equal(r.status, 400);
  });

  test("symlinks: out of the root 404, inside the root followed", async () => {
    const out = await get(base, "/packs/escape.pack");
    assert.equal(out.status, 404);
    assert.ok(!out.body.toString().includes(SECRET));
    const inside = await get(base, "/channels/alias.json");
    assert.equal(inside.status, 200);
  });

  test("directories, missing files and temporaries are 404", async () => {
    for (const path of ["/", "/packs", "/packs/", "/channels/missing.json", `/packs/${HASH}.pack.tmp-1234`]) {
      const r = await get(base, path);
      assert.equal(r.status, 404, path);
    }
  });

  test("a client abort mid-body does not crash the server", async () => {
    const url = new URL(base);
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, path: "/big.bin", agent: false }, (res) => {
        res.once("data", () => {
          req.destroy();
          resolve();
        });
      });
      req.on("error", (error) => {
        if ((error as { code?: string }).code !== "ECONNRESET") reject(error);
      });
      req.end();
    });
    await new Promise((r) => setTimeout(r, 50));
    const r = await get(base, packPath, { range: "bytes=0-0" });
    assert.equal(r.status, 206);
  });
});
