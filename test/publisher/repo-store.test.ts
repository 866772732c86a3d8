/**
 * DirectoryStore specifics beyond the RepoStore contract: a replaced pointer always gets new HTTP
 * validators from nginx, however fast it is replaced.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, stat, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { DirectoryStore } from "../../src/publisher/repo-store.js";
import { sha256 } from "../../src/node/node-crypto.js";
import { findNginx, startNginx } from "../../src/testing/nginx.js";

const POINTER = "channels/stable.json";
const bytes = (text: string) => new TextEncoder().encode(text);

test("writeIf: each replacement of a file lands in a later mtime second, even three in one second", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "ferry-store-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = new DirectoryStore(dir);
  const versions = ["serial-1", "serial-2", "serial-3"].map(bytes);
  let expected: string | null = null;
  const seconds: number[] = [];
  for (const data of versions) {
    await store.writeIf(POINTER, data, expected);
    expected = sha256(data);
    seconds.push(Math.floor((await stat(join(dir, POINTER))).mtimeMs / 1000));
  }
  for (let i = 1; i < seconds.length; i++)
    assert.ok(seconds[i]! > seconds[i - 1]!, `mtime seconds ${seconds.join(", ")} strictly increase`);
  // A plain write (content-addressed objects) keeps the clock's mtime.
  await store.write("objects/x", bytes("x"));
  const objectTime = (await stat(join(dir, "objects/x"))).mtimeMs;
  assert.ok(Math.abs(objectTime - Date.now()) < 5_000, "write() leaves mtime alone");
});

test("writeIf behind nginx: a same-size pointer replaced at once answers 200 with a new ETag to the old one's If-None-Match", async (t) => {
  if (!findNginx()) {
    t.skip("nginx is not installed (apt-get install nginx-light)");
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), "ferry-store-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = new DirectoryStore(dir);
  const first = bytes('{"serial":1}');
  const second = bytes('{"serial":2}');
  assert.equal(first.length, second.length);
  await store.writeIf(POINTER, first, null);
  const nginx = await startNginx(dir);
  t.after(() => nginx.close());
  const url = new URL(POINTER, nginx.url).href;
  // Start at the beginning of a clock second and stamp the pointer with it, so that without the mtime
  // bump the replacement below would land in the same second (same size: the same nginx ETag).
  await new Promise((done) => setTimeout(done, 1000 - (Date.now() % 1000) + 5));
  const now = new Date();
  await utimes(join(dir, POINTER), now, now);
  const before = await fetch(url);
  const etag = before.headers.get("etag");
  const lastModified = before.headers.get("last-modified");
  assert.ok(etag && lastModified, "nginx sends ETag and Last-Modified");
  assert.equal(await before.text(), '{"serial":1}');
  await store.writeIf(POINTER, second, sha256(first));
  const after = await fetch(url, { headers: { "if-none-match": etag, "if-modified-since": lastModified } });
  assert.equal(after.status, 200, `revalidation of ${etag} must not answer 304`);
  assert.notEqual(after.headers.get("etag"), etag);
  assert.equal(await after.text(), '{"serial":2}');
});
