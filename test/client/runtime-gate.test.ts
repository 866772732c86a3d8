import "../../src/register-node.js";
import assert from "node:assert/strict";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { type PointerBody, signPointer } from "../../src/core/pointer.js";
import { join } from "node:path";
import { test } from "node:test";
import { check, update } from "../../src/client/ops/update.js";
import { status } from "../../src/client/ops/inspect.js";
import { resolveOverlay } from "../../src/client/install/overlay.js";
import { applyRuntimeGate, listSetAside } from "../../src/client/ops/runtime-gate.js";
import { type FerryError, isFerryError } from "../../src/core/errors.js";
import { ForwardingFileSystem } from "../../src/node/forwarding-fs.js";
import { NodeFileSystem } from "../../src/node/node-fs.js";
import { dlcBuild, dlcRepository, writeBuild } from "../helpers/content-fixture.js";
import { readTree } from "../helpers/helpers.js";

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

test("a client installs only releases for its runtime; otherwise it is up to date for its runtime or refuses with E_RUNTIME", async (t) => {
  const r = await dlcRepository(t);
  await r.publishVersion(1, { runtime: "app-1" });
  const install = join(r.dir, "install");
  const opts = { repoUrl: r.server.url, installDir: install, trust: [r.pub] };
  const s1 = await update({ ...opts, runtime: "app-1" });
  assert.equal(s1.version, "1.0.0");
  assert.equal((await status({ installDir: install })).runtime, "app-1");

  await r.publishVersion(2, { runtime: "app-2" });
  const held = await update({ ...opts, runtime: "app-1" });
  assert.equal(held.upToDate, true);
  assert.equal(held.version, "1.0.0");
  assert.deepEqual(held.heldForRuntime, { version: "2.0.0", runtime: "app-2" });
  assert.deepEqual((await check({ ...opts, runtime: "app-1" })).heldForRuntime, {
    version: "2.0.0",
    runtime: "app-2",
  });
  r.requests.length = 0;
  await update({ ...opts, runtime: "app-1" });
  assert.ok(!r.requests.some((u) => u.startsWith("/manifests/")), "decided from the signed pointer alone");

  await assert.rejects(
    update({ ...opts, installDir: join(r.dir, "fresh"), runtime: "app-1" }),
    (e: unknown) => isFerryError(e, "E_RUNTIME") && (e as FerryError).data.clientRuntime === "app-1",
  );
  // A client that names no runtime installs any release (the gate is opt-in).
  const any = await update({ ...opts, installDir: join(r.dir, "any") });
  assert.equal(any.version, "2.0.0");
});

test("app upgrade: the stale release is set aside with a reason and the base bundle serves until a matching release is installed", async (t) => {
  const r = await dlcRepository(t);
  const base = join(r.dir, "bundle-app-2");
  await writeBuild(base, dlcBuild(1), undefined); // the new app's own bundle
  await r.publishVersion(1, {
    runtime: "app-1",
    files: new Map([...dlcBuild(1)].map(([p, d]) => [p, Buffer.concat([d, Buffer.from("patched")])])),
  });
  const install = join(r.dir, "install");
  const opts = { repoUrl: r.server.url, installDir: install, trust: [r.pub] };
  await update({ ...opts, runtime: "app-1" });
  assert.equal((await resolveOverlay({ installDir: install, path: "bin/game", base }))?.layer, "update");
  const staleTree = await readTree(install);

  // The app is upgraded to runtime app-2 while the channel still offers the app-1 release.
  await assert.rejects(update({ ...opts, runtime: "app-2" }), (e: unknown) => isFerryError(e, "E_RUNTIME"));
  const records = await listSetAside({ installDir: install });
  assert.equal(records.length, 1);
  assert.equal(records[0]!.reason, "runtime");
  assert.equal(records[0]!.runtime, "app-1");
  assert.equal(records[0]!.clientRuntime, "app-2");
  assert.equal(records[0]!.version, "1.0.0");
  assert.deepEqual(await readTree(install), new Map(), "the update folder no longer holds the stale files");
  assert.deepEqual(
    await readTree(join(records[0]!.directory, "files")),
    staleTree,
    "they were moved aside, not lost",
  );
  assert.ok(!(await exists(join(install, ".ferry", "state.json"))));
  const hit = await resolveOverlay({ installDir: install, path: "bin/game", base });
  assert.equal(hit?.layer, "base");
  assert.deepEqual(await readFile(hit!.file), dlcBuild(1).get("bin/game"));

  await r.publishVersion(2, { runtime: "app-2" });
  const s = await update({ ...opts, runtime: "app-2" });
  assert.equal(s.version, "2.0.0");
  assert.equal((await status({ installDir: install })).runtime, "app-2");
  assert.equal((await resolveOverlay({ installDir: install, path: "bin/game", base }))?.layer, "update");
  // A second run does not set aside the matching release.
  await applyRuntimeGate({ installDir: install, runtime: "app-2" });
  assert.equal((await listSetAside({ installDir: install })).length, 1);
});

test("a set-aside interrupted after its commit point is finished on the next open", async (t) => {
  const r = await dlcRepository(t);
  await r.publishVersion(1, { runtime: "app-1" });
  const install = join(r.dir, "install");
  await update({ repoUrl: r.server.url, installDir: install, trust: [r.pub], runtime: "app-1" });
  const files = await readTree(install);

  class CrashOnSecondFileMove extends ForwardingFileSystem {
    moves = 0;
    override async rename(from: string, to: string): Promise<void> {
      if (
        to.includes(`${join(".ferry", "set-aside")}`) &&
        to.includes(join("", "files", "")) &&
        ++this.moves === 2
      )
        throw new Error("simulated crash");
      return super.rename(from, to);
    }
  }
  await assert.rejects(
    applyRuntimeGate({
      installDir: install,
      runtime: "app-2",
      fs: new CrashOnSecondFileMove(new NodeFileSystem()),
    }),
    /simulated crash/,
  );
  // After the commit point nothing is installed, even though files are still in the update folder.
  assert.ok(!(await exists(join(install, ".ferry", "state.json"))));
  assert.equal(await resolveOverlay({ installDir: install, path: "data/levels/2.dat" }), undefined);
  assert.ok((await readTree(install)).size > 0);

  await applyRuntimeGate({ installDir: install, runtime: "app-2" });
  const [record] = await listSetAside({ installDir: install });
  assert.deepEqual(await readTree(install), new Map());
  assert.deepEqual(await readTree(join(record!.directory, "files")), files);
  assert.ok(await exists(join(record!.directory, "done")));
  assert.deepEqual((await readdir(join(install, ".ferry", "set-aside"))).length, 1);
});

test("a pointer whose runtime differs from its manifest's is refused (E_SIGNATURE)", async (t) => {
  const r = await dlcRepository(t);
  await r.publishVersion(1, { runtime: "app-1" });
  const channel = join(r.repo, "channels", "stable.json");
  const signed = (JSON.parse(await readFile(channel, "utf8")) as { signed: Record<string, unknown> }).signed;
  delete signed.format; // signPointer adds the header again
  delete signed.type;
  await writeFile(channel, signPointer({ ...(signed as unknown as PointerBody), runtime: "app-2" }, [r.key]));
  await assert.rejects(
    update({ repoUrl: r.server.url, installDir: join(r.dir, "i"), trust: [r.pub], runtime: "app-2" }),
    (e: unknown) =>
      isFerryError(e, "E_SIGNATURE") &&
      /runtime app-2 but its manifest says app-1/.test((e as Error).message),
  );
});
