/**
 * Browser battery: CORS from a second origin. The demo page (http://localhost:N) reads a repository on
 * http://127.0.0.1:M. The same repository served by nginx without CORS headers fails with an error code
 * and a message that says CORS; served with HOSTING.md's configuration it installs.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { startNginx } from "../../src/testing/nginx.js";
import { numbered } from "./fixtures/web-game.js";
import {
  assertServes,
  call,
  fileBrowser,
  installedVersion,
  newPage,
  ok,
  openDemo,
  startDemo,
  waitReady,
  webRepo,
} from "./harness.js";

test("CORS: a repository without CORS headers fails with a clear code; with HOSTING.md's headers it works", async (t) => {
  const browser = await fileBrowser(t);
  if (!browser) return;
  const repo = await webRepo(t);
  const files = numbered(1, 30_000);
  await repo.publish("1.0.0", files);
  // The same directory from an nginx with the default (non-web) configuration: no CORS headers.
  const plain = await startNginx(repo.served.repo);
  t.after(() => plain.close());

  const bare = await startDemo(t, { url: plain.url, trustFile: repo.trustFile });
  const first = await newPage(t, browser);
  await openDemo(first.page, bare);
  const outcome = await call(first.page, "update");
  assert.ok(!outcome.ok, "update() from a repository without CORS headers fails");
  t.diagnostic(`without CORS headers: ${outcome.code}: ${outcome.message}`);
  assert.match(
    String(outcome.code),
    /^E_[A-Z_]+$/,
    `the rejection carries a FerryError code: ${outcome.message}`,
  );
  assert.match(
    outcome.message,
    /CORS|cross-origin|Access-Control/i,
    "the message names CORS as a likely cause",
  );
  assert.match(outcome.message, new RegExp(plain.url.replace(/[.:/]/g, "\\$&")), "the message names the URL");
  assert.equal(await installedVersion(first.page), null, "nothing was installed");

  const cors = await startDemo(t, repo);
  const second = await newPage(t, browser);
  await openDemo(second.page, cors);
  await ok(second.page, "update");
  await second.page.reload();
  await waitReady(second.page);
  assert.equal(await installedVersion(second.page), "1.0.0");
  await assertServes(second.page, files);
});
