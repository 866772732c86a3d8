/**
 * The nginx configuration docs/HOSTING.md gives web games is the one the browser battery serves with
 * (test/web/fixtures/nginx-web.conf, quoted verbatim), and it sends what a browser needs from a second
 * origin: CORS headers on every answer (404s included), exposed Content-Range/ETag/Content-Length,
 * single-range 206s, a preflight answer, and the cache header of each object kind.
 */
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import { test } from "node:test";
import { findNginx } from "../../src/testing/nginx.js";
import { sample } from "./fixtures/web-game.js";
import { NGINX_WEB_CONF, webRepo } from "./harness.js";

const HOSTING = join(import.meta.dirname, "..", "..", "..", "docs", "HOSTING.md");

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

function get(url: string, method = "GET", headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (b: Buffer) => parts.push(b));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

test("HOSTING.md quotes the battery's nginx configuration verbatim", async () => {
  const doc = await readFile(HOSTING, "utf8");
  const conf = await readFile(NGINX_WEB_CONF, "utf8");
  const section = doc.indexOf("## Web games (browser runtime)");
  assert.ok(section >= 0, "HOSTING.md has a 'Web games (browser runtime)' section");
  const open = doc.indexOf("```nginx\n", section);
  assert.ok(open >= 0, "the section has an nginx block");
  const close = doc.indexOf("\n```", open + 9);
  assert.equal(
    doc.slice(open + "```nginx\n".length, close + 1),
    conf,
    "HOSTING.md's block = test/web/fixtures/nginx-web.conf",
  );
});

test("nginx with the web configuration: CORS on every answer, exposed headers, ranges, preflight, cache headers", async (t) => {
  if (findNginx() === undefined) {
    if (process.env.CI) assert.fail("nginx is not installed");
    t.skip("nginx is not installed");
    return;
  }
  const repo = await webRepo(t);
  await repo.publish("1.0.0", sample(1));
  const base = repo.nginx.url;
  const pack = (await readdir(join(repo.served.repo, "packs"))).find((name) => name.endsWith(".pack"));
  assert.ok(pack, "the publish wrote a pack");
  const origin = { Origin: "http://localhost:9999" };

  const cors = (a: Answer, what: string) => {
    assert.equal(a.headers["access-control-allow-origin"], "*", `${what}: Access-Control-Allow-Origin`);
    const exposed = String(a.headers["access-control-expose-headers"] ?? "")
      .split(",")
      .map((h) => h.trim().toLowerCase());
    for (const h of ["content-range", "etag", "content-length"])
      assert.ok(exposed.includes(h), `${what}: exposes ${h}`);
  };

  const ranged = await get(`${base}packs/${pack}`, "GET", { ...origin, Range: "bytes=10-99" });
  assert.equal(ranged.status, 206);
  assert.equal(ranged.body.length, 90);
  assert.match(String(ranged.headers["content-range"]), /^bytes 10-99\/\d+$/);
  assert.ok(ranged.headers.etag, "packs have an ETag");
  assert.equal(ranged.headers["cache-control"], "public, max-age=31536000, immutable");
  cors(ranged, "pack range");

  const pointer = await get(`${base}channels/stable.json`, "GET", origin);
  assert.equal(pointer.status, 200);
  assert.equal(pointer.headers["cache-control"], "no-cache");
  cors(pointer, "pointer");

  const marker = await get(`${base}ferry-repo.json`, "GET", origin);
  assert.equal(marker.headers["cache-control"], "no-cache");

  // The next root's 404 is how a client learns there was no rotation: a browser must be allowed to see it.
  const next = await get(`${base}root/2.json`, "GET", origin);
  assert.equal(next.status, 404);
  assert.equal(next.headers["cache-control"], "no-cache");
  cors(next, "404 of root/2.json");

  for (const dir of ["manifests", "objects"]) {
    const names = await readdir(join(repo.served.repo, dir)).catch(() => [] as string[]);
    if (names[0] === undefined) continue;
    const answer = await get(`${base}${dir}/${names[0]}`, "GET", origin);
    assert.equal(answer.status, 200, `${dir}/${names[0]}`);
    assert.equal(answer.headers["cache-control"], "public, max-age=31536000, immutable", dir);
    assert.equal(answer.headers["content-encoding"], undefined, `${dir} are served as stored`);
    cors(answer, dir);
  }

  const preflight = await get(`${base}channels/stable.json`, "OPTIONS", {
    ...origin,
    "Access-Control-Request-Method": "GET",
    "Access-Control-Request-Headers": "if-none-match",
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers["access-control-allow-origin"], "*");
  assert.match(String(preflight.headers["access-control-allow-headers"]), /If-None-Match/i);

  const temp = await get(`${base}channels/stable.json.tmp-123`, "GET", origin);
  assert.equal(temp.status, 404, "publisher temporaries are not served");
});
