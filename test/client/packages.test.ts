import "../../src/register-node.js";
import { nodeCrypto } from "../../src/node/node-crypto.js";
import { nodePorts } from "../../src/node/node-ports.js";
import assert from "node:assert/strict";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { status, verify } from "../../src/client/ops/inspect.js";
import { InstallLayout } from "../../src/client/install/layout.js";
import { changePackages, listPackages } from "../../src/client/ops/packages.js";
import { decodeManifest } from "../../src/client/remote/remote.js";
import { readState } from "../../src/client/install/read-state.js";
import { update } from "../../src/client/ops/update.js";
import { isFerryError } from "../../src/core/errors.js";
import { NodeFileSystem } from "../../src/node/node-fs.js";
import { ferry } from "../helpers/cli.js";
import { dlcBuild, dlcRepository } from "../helpers/content-fixture.js";
import { readTree } from "../helpers/helpers.js";

const sha = (data: Buffer) =>
  (async () => (await import("node:crypto")).createHash("sha256").update(data).digest("hex"))();

/** The expected tree for these paths of dlcBuild(v). */
async function expected(v: number, paths: (p: string) => boolean): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [path, data] of dlcBuild(v)) if (paths(path)) out.set(path, `${await sha(data)} -`);
  return out;
}

const inBase = (p: string) => p.startsWith("bin/") || p.startsWith("data/");
const inHd = (p: string) => p.startsWith("hd/");
const inVoice = (p: string) => p.startsWith("voice/");

/** ino:mtime of each file, to prove a file was not rewritten. */
async function identities(dir: string, paths: Iterable<string>): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const p of paths) {
    const s = await stat(join(dir, p));
    out.set(p, `${s.ino}:${s.mtimeMs}`);
  }
  return out;
}

test("publish assigns files to packages by ferry-packages.json and does not publish the config", async (t) => {
  const r = await dlcRepository(t);
  await r.publishVersion(1);
  const install = join(r.dir, "install");
  await update({
    repoUrl: r.server.url,
    installDir: install,
    trust: [r.pub],
    packages: ["base", "hd-textures", "voice-en"],
  });
  const layout = new InstallLayout(install);
  const state = (await readState({ fs: new NodeFileSystem(), layout, crypto: nodeCrypto }))!;
  const manifest = await decodeManifest(
    nodePorts,
    await readFile(layout.manifest(state.manifest.hash)),
    state.manifest,
    "m",
  );
  assert.deepEqual(manifest.packages, {
    base: { optional: false },
    "hd-textures": { optional: true },
    "voice-en": { optional: true },
  });
  const byPackage = Object.fromEntries(manifest.files.map((f) => [f.path, f.package]));
  assert.deepEqual(byPackage, {
    "bin/game": "base",
    "data/levels/1.dat": "base",
    "data/levels/2.dat": "base",
    "hd/tex1.bin": "hd-textures",
    "hd/tex2.bin": "hd-textures",
    "voice/en/intro.ogg": "voice-en",
    "voice/en/outro.ogg": "voice-en",
  });
  assert.ok(!manifest.files.some((f) => f.path === "ferry-packages.json"));
  assert.deepEqual(await readTree(install), await expected(1, () => true));
});

test("a rule naming an undeclared package fails the publish", async (t) => {
  const r = await dlcRepository(t);
  await assert.rejects(
    r.publishVersion(1, {
      rules: { format: 1, type: "ferry-packages", packages: {}, rules: [{ match: "hd/**", package: "hd" }] },
    }),
    (e: unknown) => isFerryError(e, "E_USAGE") && /not declared/.test((e as Error).message),
  );
});

test("default install takes the non-optional packages; --packages picks a subset; unknown names are refused", async (t) => {
  const r = await dlcRepository(t);
  await r.publishVersion(1);
  const plain = join(r.dir, "plain");
  const s = await update({ repoUrl: r.server.url, installDir: plain, trust: [r.pub] });
  assert.deepEqual(s.packages, ["base"]);
  assert.deepEqual(await readTree(plain), await expected(1, inBase));
  assert.deepEqual((await status({ installDir: plain })).packages, ["base"]);
  assert.ok((await verify({ installDir: plain })).ok);

  const hd = join(r.dir, "hd");
  await update({ repoUrl: r.server.url, installDir: hd, trust: [r.pub], packages: ["base", "hd-textures"] });
  assert.deepEqual(await readTree(hd), await expected(1, (p) => inBase(p) || inHd(p)));

  await assert.rejects(
    update({
      repoUrl: r.server.url,
      installDir: join(r.dir, "bad"),
      trust: [r.pub],
      packages: ["base", "hd"],
    }),
    (e: unknown) => isFerryError(e, "E_USAGE") && /hd-textures/.test((e as Error).message),
  );
});

test("packages add/remove touch only that package's files; updates keep the set; a vanished package is dropped", async (t) => {
  const r = await dlcRepository(t);
  await r.publishVersion(1);
  const install = join(r.dir, "install");
  await update({ repoUrl: r.server.url, installDir: install, trust: [r.pub] });
  const baseIds = await identities(install, (await expected(1, inBase)).keys());

  const added = await changePackages({
    installDir: install,
    trust: [r.pub],
    add: ["hd-textures", "voice-en"],
  });
  assert.equal(added.filesWritten, 4);
  assert.equal(added.filesDeleted, 0);
  assert.deepEqual(await readTree(install), await expected(1, () => true));
  assert.deepEqual(await identities(install, baseIds.keys()), baseIds, "base files were not rewritten");
  const hdIds = await identities(install, (await expected(1, inHd)).keys());

  const removed = await changePackages({ installDir: install, trust: [r.pub], remove: ["voice-en"] });
  assert.equal(removed.filesWritten, 0);
  assert.equal(removed.filesDeleted, 2);
  assert.deepEqual(await readTree(install), await expected(1, (p) => !inVoice(p)));
  assert.deepEqual(
    await identities(install, [...baseIds.keys(), ...hdIds.keys()]),
    new Map([...baseIds, ...hdIds]),
  );
  assert.deepEqual(
    (await listPackages({ installDir: install })).map((p) => [p.name, p.installed, p.files]),
    [
      ["base", true, 3],
      ["hd-textures", true, 2],
      ["voice-en", false, 2],
    ],
  );

  // v2 changes bin/game, a level and hd/tex1: the update keeps base + hd-textures and does not install voice.
  await r.publishVersion(2);
  const s2 = await update({ repoUrl: r.server.url, installDir: install, trust: [r.pub] });
  assert.deepEqual(s2.packages, ["base", "hd-textures"]);
  assert.equal(s2.filesWritten, 3);
  assert.deepEqual(await readTree(install), await expected(2, (p) => !inVoice(p)));

  // v3 has no voice-en package at all; an install holding it drops it (and its files) and says so.
  await changePackages({ installDir: install, trust: [r.pub], add: ["voice-en"] });
  assert.deepEqual(await readTree(install), await expected(2, () => true));
  await r.publishVersion(3, {
    rules: {
      format: 1,
      type: "ferry-packages",
      packages: { "hd-textures": { optional: true } },
      rules: [{ match: "hd/**", package: "hd-textures" }],
    },
  });
  const s3 = await update({ repoUrl: r.server.url, installDir: install, trust: [r.pub] });
  assert.deepEqual(s3.droppedPackages, ["voice-en"]);
  assert.deepEqual(s3.packages, ["base", "hd-textures"]);
  assert.equal(s3.filesDeleted, 2);
  assert.deepEqual(await readTree(install), await expected(3, () => true));
  assert.ok((await verify({ installDir: install })).ok);
});

test("a new non-optional package joins an existing install on update", async (t) => {
  const r = await dlcRepository(t);
  await r.publishVersion(1);
  const install = join(r.dir, "install");
  await update({ repoUrl: r.server.url, installDir: install, trust: [r.pub] });
  const rules = {
    format: 1,
    type: "ferry-packages",
    packages: {
      levels: { optional: false },
      "hd-textures": { optional: true },
      "voice-en": { optional: true },
    },
    rules: [
      { match: "data/**", package: "levels" },
      { match: "hd/**", package: "hd-textures" },
      { match: "voice/**", package: "voice-en" },
    ],
  };
  await r.publishVersion(2, { rules });
  const s = await update({ repoUrl: r.server.url, installDir: install, trust: [r.pub] });
  assert.deepEqual(s.packages, ["base", "levels"]);
  assert.deepEqual(await readTree(install), await expected(2, inBase));
});

test("a state written before packages existed parses and means every package", async (t) => {
  const r = await dlcRepository(t);
  await r.publishVersion(1);
  const install = join(r.dir, "install");
  await update({
    repoUrl: r.server.url,
    installDir: install,
    trust: [r.pub],
    packages: ["base", "hd-textures", "voice-en"],
  });
  const statePath = join(install, ".ferry", "state.json");
  const json = JSON.parse(await readFile(statePath, "utf8")) as Record<string, unknown>;
  delete json.packages;
  await writeFile(statePath, JSON.stringify(json));
  assert.deepEqual((await status({ installDir: install })).packages, ["base", "hd-textures", "voice-en"]);
  await r.publishVersion(2);
  const s = await update({ repoUrl: r.server.url, installDir: install, trust: [r.pub] });
  assert.deepEqual(s.packages, ["base", "hd-textures", "voice-en"]);
  assert.deepEqual(await readTree(install), await expected(2, () => true));
});

test("CLI: update --packages, packages list/add/remove, status shows installed packages", async (t) => {
  const r = await dlcRepository(t);
  await r.publishVersion(1);
  const install = join(r.dir, "install");
  const trust = ["--trust", r.publicText];
  const up = await ferry("update", r.server.url, install, ...trust, "--packages", "base,voice-en");
  assert.equal(up.code, 0, up.stderr);
  assert.deepEqual(await readTree(install), await expected(1, (p) => !inHd(p)));
  const list = await ferry("packages", "list", install, "--json");
  const packages = (JSON.parse(list.stdout) as { packages: { name: string; installed: boolean }[] }).packages;
  assert.deepEqual(
    packages.map((p) => [p.name, p.installed]),
    [
      ["base", true],
      ["hd-textures", false],
      ["voice-en", true],
    ],
  );
  const add = await ferry("packages", "add", install, "hd-textures", ...trust);
  assert.equal(add.code, 0, add.stderr);
  const rm = await ferry("packages", "remove", install, "voice-en", ...trust);
  assert.equal(rm.code, 0, rm.stderr);
  assert.deepEqual(await readTree(install), await expected(1, (p) => !inVoice(p)));
  const st = await ferry("status", install);
  assert.match(st.stdout, /installed packages: base, hd-textures\./);
  const bad = await ferry("packages", "add", install, "nope", ...trust);
  assert.equal(bad.code, 2);
});
