/**
 * Files moved into a newly declared optional package stay on the installs that hold them, and adding
 * that package later downloads only what the install lacks. Real releases on a loopback server; the
 * bytes are counted at the server's sockets.
 */
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import type { Socket } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { status, verify } from "../../src/client/ops/inspect.js";
import { changePackages, listPackages } from "../../src/client/ops/packages.js";
import { repoFixture, type ServedRepo } from "../helpers/served-repo.js";

/** Bytes the server has written to all its connections so far (headers included). */
function serverBytes(r: ServedRepo): () => number {
  const sockets = new Set<Socket>();
  let closed = 0;
  r.server.server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => {
      closed += socket.bytesWritten;
      sockets.delete(socket);
    });
  });
  return () => closed + [...sockets].reduce((sum, s) => sum + s.bytesWritten, 0);
}

const HD = { "hd-textures": { optional: true } };
const RULES = [{ match: "hd/**", package: "hd-textures" }];

test("files moved into a new optional package stay installed, and adding the package reuses them", async (t) => {
  const r = await repoFixture(t);
  const sent = serverBytes(r);
  const a = randomBytes(300_000);
  const b = randomBytes(200_000);
  const c = randomBytes(80_000);
  const v1 = { "game.bin": randomBytes(50_000), "hd/a.tex": a, "hd/b.tex": b, "readme.txt": "v1" };
  await r.publish(v1, { version: "1.0.0" });
  const install = join(r.dir, "game");
  await r.update(install);
  const before = await stat(join(install, "hd", "a.tex"));

  // v2 declares hd-textures (optional) and moves hd/ into it, adding one new file there.
  await r.publish(
    { ...v1, "readme.txt": "v2", "hd/c.tex": c },
    { version: "2.0.0", packages: { format: 1, type: "ferry-packages", packages: HD, rules: RULES } },
  );
  const start = sent();
  const updated = await r.update(install);
  const updateBytes = sent() - start;
  assert.equal(updated.version, "2.0.0");
  assert.equal(updated.filesDeleted, 0, "nothing the install held is deleted");
  assert.deepEqual(await readFile(join(install, "hd", "a.tex")), a);
  assert.deepEqual(await readFile(join(install, "hd", "b.tex")), b);
  assert.equal((await stat(join(install, "hd", "a.tex"))).ino, before.ino, "kept in place, not rewritten");
  assert.ok(updateBytes < 50_000, `the update sent ${updateBytes} B (metadata and readme only)`);
  const st = await status({ installDir: install });
  assert.deepEqual(st.packages, ["base"], "the optional package is not installed");
  assert.equal((await verify({ installDir: install })).ok, true, "the kept files are verified");
  const listed = await listPackages({ installDir: install });
  assert.equal(listed.find((p) => p.name === "hd-textures")?.installed, false);

  // Adding the package downloads only hd/c.tex: the kept files and their chunks are reused.
  const addStart = sent();
  const added = await changePackages({ installDir: install, trust: [r.pub], add: ["hd-textures"] });
  const addBytes = sent() - addStart;
  assert.equal(added.filesWritten, 1);
  assert.ok(addBytes >= c.length, `the add sent ${addBytes} B, at least hd/c.tex's ${c.length}`);
  assert.ok(addBytes < c.length + 40_000, `the add sent ${addBytes} B: hd/a.tex and hd/b.tex not again`);
  assert.deepEqual(await readFile(join(install, "hd", "c.tex")), c);
  t.diagnostic(`server bytes: update v1->v2 ${updateBytes}, packages add ${addBytes} (hd/c.tex ${c.length})`);
  assert.deepEqual((await status({ installDir: install })).packages, ["base", "hd-textures"]);
  assert.equal((await verify({ installDir: install })).ok, true);

  // Removing the package deletes its files, the kept ones included (they are the package's now).
  const removed = await changePackages({ installDir: install, trust: [r.pub], remove: ["hd-textures"] });
  assert.equal(removed.filesDeleted, 3);
  await assert.rejects(stat(join(install, "hd", "a.tex")), { code: "ENOENT" });
});

test("a fresh install of the release with the optional package does not take the moved files", async (t) => {
  const r = await repoFixture(t);
  await r.publish(
    { "game.bin": "game", "hd/a.tex": "a" },
    { version: "2.0.0", packages: { format: 1, type: "ferry-packages", packages: HD, rules: RULES } },
  );
  const install = join(r.dir, "fresh");
  await r.update(install);
  await assert.rejects(stat(join(install, "hd", "a.tex")), { code: "ENOENT" });
  assert.deepEqual((await status({ installDir: install })).packages, ["base"]);
});
