import "../../src/register-node.js";
import assert from "node:assert/strict";
import { cp } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { ensure, missing } from "../../src/client/ops/ensure.js";
import type { UpdateEvent } from "../../src/client/events.js";
import { status, verify } from "../../src/client/ops/inspect.js";
import { update } from "../../src/client/ops/update.js";
import { isFerryError } from "../../src/core/errors.js";
import { dlcRepository } from "../helpers/content-fixture.js";
import { readTree } from "../helpers/helpers.js";

async function baseInstall(t: Parameters<typeof dlcRepository>[0]) {
  const r = await dlcRepository(t);
  await r.publishVersion(1);
  const install = join(r.dir, "install");
  await update({ repoUrl: r.server.url, installDir: install, trust: [r.pub] });
  return { ...r, install };
}

const packRequests = (urls: readonly string[]) => urls.filter((u) => u.startsWith("/packs/"));

test("missing() names the absent files of a package or of paths; ensure fetches exactly them", async (t) => {
  const r = await baseInstall(t);
  const before = await missing({ installDir: r.install, packages: ["hd-textures"] });
  assert.deepEqual(
    before.files.map((f) => f.path),
    ["hd/tex1.bin", "hd/tex2.bin"],
  );
  assert.equal(before.bytes, 350_000);
  assert.deepEqual(
    (await missing({ installDir: r.install })).files,
    [],
    "the installed selection is complete",
  );

  const treeBefore = await readTree(r.install);
  const one = await ensure({ installDir: r.install, trust: [r.pub], paths: ["voice/en/intro.ogg"] });
  assert.equal(one.filesWritten, 1);
  const after = await readTree(r.install);
  assert.deepEqual(
    [...after.keys()].filter((p) => !treeBefore.has(p)),
    ["voice/en/intro.ogg"],
  );
  assert.deepEqual((await missing({ installDir: r.install, paths: ["voice/en/intro.ogg"] })).files, []);
  assert.deepEqual(
    (await missing({ installDir: r.install, packages: ["voice-en"] })).files.map((f) => f.path),
    ["voice/en/outro.ogg"],
  );

  const hd = await ensure({ installDir: r.install, trust: [r.pub], packages: ["hd-textures"] });
  assert.equal(hd.filesWritten, 2);
  assert.deepEqual((await status({ installDir: r.install })).packages, ["base", "hd-textures"]);
  assert.ok((await verify({ installDir: r.install })).ok);

  // Nothing missing: no download at all.
  r.requests.length = 0;
  const again = await ensure({ installDir: r.install, trust: [r.pub], packages: ["hd-textures"] });
  assert.equal(again.filesWritten, 0);
  assert.deepEqual(packRequests(r.requests), []);

  // An on-demand path is kept current by later updates (v2 does not change it, but keeps it installed).
  await r.publishVersion(2);
  await update({ repoUrl: r.server.url, installDir: r.install, trust: [r.pub] });
  assert.deepEqual((await missing({ installDir: r.install, paths: ["voice/en/intro.ogg"] })).files, []);
  assert.ok((await verify({ installDir: r.install })).ok);

  await assert.rejects(missing({ installDir: r.install, paths: ["no/such.file"] }), (e: unknown) =>
    isFerryError(e, "E_USAGE"),
  );
});

test("parallel ensure calls for the same content share one download (requests counted at the server)", async (t) => {
  const r = await baseInstall(t);
  const solo = join(r.dir, "solo");
  await cp(r.install, solo, { recursive: true });

  r.requests.length = 0;
  await ensure({ installDir: solo, trust: [r.pub], packages: ["hd-textures"] });
  const single = [...r.requests];
  assert.ok(packRequests(single).length > 0);

  r.requests.length = 0;
  const events: UpdateEvent[][] = [[], []];
  const [a, b] = await Promise.all([
    ensure({
      installDir: r.install,
      trust: [r.pub],
      packages: ["hd-textures"],
      onEvent: (e) => events[0]!.push(e),
    }),
    ensure({
      installDir: r.install,
      trust: [r.pub],
      packages: ["hd-textures"],
      onEvent: (e) => events[1]!.push(e),
    }),
  ]);
  assert.equal(a, b, "both callers get the one shared result");
  assert.deepEqual(r.requests.sort(), single.sort(), "the pair made exactly the requests of one call");
  assert.ok(events[0]!.some((e) => e.type === "commit") && events[1]!.some((e) => e.type === "commit"));
  assert.deepEqual(await readTree(r.install), await readTree(solo));

  // Different content on one install: queued one after the other, not refused with E_LOCKED.
  const [voice, hd] = await Promise.all([
    ensure({ installDir: r.install, trust: [r.pub], packages: ["voice-en"] }),
    ensure({ installDir: r.install, trust: [r.pub], paths: ["hd/tex1.bin"] }),
  ]);
  assert.equal(voice.filesWritten, 2);
  assert.equal(hd.filesWritten, 0);
  assert.ok((await verify({ installDir: r.install })).ok);
});

test("cancelling ensure leaves the install as it was; a co-waiter still gets the content", async (t) => {
  const r = await baseInstall(t);
  const tree = await readTree(r.install);
  const controller = new AbortController();
  await assert.rejects(
    ensure({
      installDir: r.install,
      trust: [r.pub],
      packages: ["hd-textures"],
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === "plan") controller.abort();
      },
    }),
    (e: unknown) => isFerryError(e, "E_ABORTED"),
  );
  // Let the abandoned shared operation wind down (it runs on the install's queue).
  await ensure({ installDir: r.install, trust: [r.pub], paths: [] });
  assert.deepEqual(await readTree(r.install), tree);
  assert.ok((await verify({ installDir: r.install })).ok);
  assert.deepEqual((await status({ installDir: r.install })).packages, ["base"]);
  assert.equal((await missing({ installDir: r.install, packages: ["hd-textures"] })).files.length, 2);

  // Two waiters, one cancels: the other's download continues and completes.
  const quitter = new AbortController();
  const results = await Promise.allSettled([
    ensure({
      installDir: r.install,
      trust: [r.pub],
      packages: ["hd-textures"],
      signal: quitter.signal,
      onEvent: (e) => {
        if (e.type === "plan") quitter.abort();
      },
    }),
    ensure({ installDir: r.install, trust: [r.pub], packages: ["hd-textures"] }),
  ]);
  assert.equal(results[0].status, "rejected");
  assert.equal(results[1].status, "fulfilled");
  assert.deepEqual((await missing({ installDir: r.install, packages: ["hd-textures"] })).files, []);
  assert.ok((await verify({ installDir: r.install })).ok);
});
