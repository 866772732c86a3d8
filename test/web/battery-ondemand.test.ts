/**
 * Browser battery: on-demand content. A release with an optional package (ferry-packages.json in the
 * build, docs/PACKAGES.md) installs without it; a /game/ request for one of its files fetches that file
 * alone (bytes counted at the repository), verifies, stores and serves it; ensure() fetches another;
 * missing() follows; offline, what was fetched stays served.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { numbered, withOptionalHd } from "./fixtures/web-game.js";
import {
  fileBrowser,
  newPage,
  ok,
  openDemo,
  served,
  sha256,
  startDemo,
  waitReady,
  webRepo,
} from "./harness.js";

const HD_BYTES = 400_000;

/** The paths in what missing() answers (an array, or { files }, of paths or { path } objects). */
function missingPaths(value: unknown): string[] {
  const list = Array.isArray(value) ? value : (value as { files?: unknown[] } | null)?.files;
  assert.ok(Array.isArray(list), `missing() answers a list of files, got ${JSON.stringify(value)}`);
  return list.map((f) => (typeof f === "string" ? f : String((f as { path?: unknown }).path))).sort();
}

test("on demand: an optional package's file is fetched alone when the game asks for it; ensure(); missing(); offline", async (t) => {
  const browser = await fileBrowser(t);
  if (!browser) return;
  const repo = await webRepo(t);
  const { files, packages } = withOptionalHd(numbered(1, 50_000), ["a.bin", "b.bin", "c.bin"], HD_BYTES);
  await repo.publish("1.0.0", files, { packages });
  const demo = await startDemo(t, repo);
  const { page, errors } = await newPage(t, browser);
  await openDemo(page, demo);
  await ok(page, "update");
  await page.reload();
  await waitReady(page);

  const base = [...files.keys()].filter((p) => !p.startsWith("hd/"));
  const baseServed = await served(page, base);
  for (const path of base) assert.equal(baseServed.get(path), sha256(files.get(path)!), path);
  // docs/WEB.md: missing() without paths lists every file of the release whose content is not stored.
  assert.deepEqual(
    missingPaths(await ok(page, "missing")),
    ["hd/a.bin", "hd/b.bin", "hd/c.bin"],
    "only the optional package is not stored",
  );
  assert.deepEqual(missingPaths(await ok(page, "missing", ["hd/a.bin", ...base])), ["hd/a.bin"]);

  // The game asks for a file that is not stored: exactly its chunks come from the repository.
  let before = repo.proxy.bytesSent();
  const a = await served(page, ["hd/a.bin"]);
  const fetchedA = repo.proxy.bytesSent() - before;
  assert.equal(a.get("hd/a.bin"), sha256(files.get("hd/a.bin")!), "/game/hd/a.bin is the release's file");
  assert.ok(fetchedA >= HD_BYTES, `it was downloaded (${fetchedA} B)`);
  assert.ok(
    fetchedA < HD_BYTES + 64 * 1024,
    `only that file was downloaded (${fetchedA} B for ${HD_BYTES} B)`,
  );
  assert.deepEqual(missingPaths(await ok(page, "missing", ["hd/a.bin", "hd/b.bin", "hd/c.bin"])), [
    "hd/b.bin",
    "hd/c.bin",
  ]);
  // Stored: asking again costs nothing.
  before = repo.proxy.bytesSent();
  assert.equal((await served(page, ["hd/a.bin"])).get("hd/a.bin"), sha256(files.get("hd/a.bin")!));
  assert.equal(repo.proxy.bytesSent() - before, 0, "a stored file is served from storage");

  before = repo.proxy.bytesSent();
  await ok(page, "ensure", ["hd/b.bin"]);
  const fetchedB = repo.proxy.bytesSent() - before;
  assert.ok(fetchedB < HD_BYTES + 64 * 1024, `ensure() downloaded only hd/b.bin (${fetchedB} B)`);
  assert.deepEqual(missingPaths(await ok(page, "missing", ["hd/a.bin", "hd/b.bin", "hd/c.bin"])), [
    "hd/c.bin",
  ]);
  t.diagnostic(
    `on demand: /game/hd/a.bin fetched ${fetchedA} B, ensure(hd/b.bin) ${fetchedB} B, file ${HD_BYTES} B`,
  );

  // Offline: fetched files stay; the one never fetched cannot be produced.
  await repo.close();
  await page.reload();
  await waitReady(page);
  const offline = await served(page, ["hd/a.bin", "hd/b.bin", "hd/c.bin", ...base]);
  for (const path of ["hd/a.bin", "hd/b.bin", ...base])
    assert.equal(offline.get(path), sha256(files.get(path)!), `offline: ${path}`);
  assert.notEqual(
    offline.get("hd/c.bin"),
    sha256(files.get("hd/c.bin")!),
    "offline: hd/c.bin was never fetched",
  );
  assert.deepEqual(errors, [], "no uncaught errors in the page");
});
