import "../../src/register-node.js";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { ensure, missing } from "../../src/client/ops/ensure.js";
import { verify } from "../../src/client/ops/inspect.js";
import { resolveOverlay } from "../../src/client/install/overlay.js";
import { repair } from "../../src/client/ops/repair.js";
import { update } from "../../src/client/ops/update.js";
import { isFerryError } from "../../src/core/errors.js";
import { dlcBuild, dlcRepository, writeBuild } from "../helpers/content-fixture.js";
import { readTree } from "../helpers/helpers.js";

test("an install over a base directory copies only files that differ from the base; the resolver serves update, then base", async (t) => {
  const r = await dlcRepository(t);
  const base = join(r.dir, "bundle");
  await writeBuild(base, dlcBuild(1), undefined); // the app ships release 1's content read-only
  await r.publishVersion(1);
  const install = join(r.dir, "update-folder");
  const opts = { repoUrl: r.server.url, installDir: install, trust: [r.pub] };

  r.requests.length = 0;
  const s1 = await update({ ...opts, base });
  assert.equal(s1.filesWritten, 0);
  assert.ok(!r.requests.some((u) => u.startsWith("/packs/")), "nothing downloaded: the base has it all");
  assert.deepEqual(await readTree(install), new Map());
  assert.ok((await verify({ installDir: install })).ok);

  // v2 changes bin/game and data/levels/2.dat (and hd/tex1.bin, not installed): only those land in the update folder.
  await r.publishVersion(2);
  const s2 = await update(opts); // the base is remembered in the state
  assert.equal(s2.filesWritten, 2);
  assert.deepEqual([...(await readTree(install)).keys()].sort(), ["bin/game", "data/levels/2.dat"]);
  assert.equal((await resolveOverlay({ installDir: install, path: "bin/game" }))?.layer, "update");
  assert.equal((await resolveOverlay({ installDir: install, path: "data/levels/1.dat" }))?.layer, "base");
  assert.equal(await resolveOverlay({ installDir: install, path: "hd/none.bin" }), undefined);
  await assert.rejects(
    () => resolveOverlay({ installDir: install, path: "../escape" }),
    (e: unknown) => isFerryError(e, "E_UNSAFE_PATH"),
  );
  assert.ok((await verify({ installDir: install })).ok);

  // On-demand content over the base: hd/tex2.bin is identical in the base, so only hd/tex1.bin is missing.
  assert.deepEqual(
    (await missing({ installDir: install, packages: ["hd-textures"] })).files.map((f) => f.path),
    ["hd/tex1.bin"],
  );
  const e = await ensure({ installDir: install, trust: [r.pub], packages: ["hd-textures"] });
  assert.equal(e.filesWritten, 1);

  // A base file that changes (not what the release says) is reported and repaired into the update folder.
  await writeFile(join(base, "data", "levels", "1.dat"), "damaged");
  const v = await verify({ installDir: install });
  assert.deepEqual(
    v.problems.map((p) => [p.path, p.problem]),
    [["data/levels/1.dat", "missing"]],
  );
  const rep = await repair(opts);
  assert.equal(rep.filesRepaired, 1);
  assert.equal((await resolveOverlay({ installDir: install, path: "data/levels/1.dat" }))?.layer, "update");
  assert.ok((await verify({ installDir: install })).ok);

  // A file in the update folder that the base now holds identically is removed from the update folder.
  await writeFile(join(base, "bin", "game"), dlcBuild(2).get("bin/game")!);
  const s3 = await update(opts);
  assert.equal(s3.filesDeleted, 1);
  assert.equal((await resolveOverlay({ installDir: install, path: "bin/game" }))?.layer, "base");
  assert.ok((await verify({ installDir: install })).ok);
});
