/**
 * Symbolic links in a build (feature "symlinks", docs/FORMAT.md §5): relative links whose target is
 * inside the release are published and installed as links, updated (retargeted, removed, turned into
 * files and back), verified, repaired and rolled back, in both layouts; links that leave the build, are
 * absolute or dangle are refused at publish; forged link entries are refused by the client.
 */
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { lstat, readFile, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { brotliDecompressSync } from "node:zlib";
import { verify } from "../../src/client/ops/inspect.js";
import { rollback } from "../../src/client/ops/launch.js";
import { repair } from "../../src/client/ops/repair.js";
import { isFerryError } from "../../src/core/errors.js";
import { checkFormatHeader, JsonReader } from "../../src/core/json-reader.js";
import { parseManifest } from "../../src/core/manifest.js";
import { checkLinks } from "../../src/client/plan/links.js";
import { nodeCrypto, sha256 } from "../../src/node/node-crypto.js";
import { NodeFileSystem } from "../../src/node/node-fs.js";
import { publish } from "../../src/publisher/publish.js";
import { type BuildFiles, repoFixture, writeBuild } from "../helpers/served-repo.js";
import { tempDir } from "../helpers/helpers.js";

const FW = "Game.app/Contents/Frameworks/Engine.framework";
const v1: BuildFiles = {
  "lib/libengine.so.1.2": "engine 1.2 ".repeat(500),
  "lib/libengine.so.1": { link: "libengine.so.1.2" },
  "lib/libengine.so": { link: "libengine.so.1" },
  [`${FW}/Versions/A/Engine`]: { data: "framework A ".repeat(300), executable: true },
  [`${FW}/Versions/Current`]: { link: "A" },
  [`${FW}/Engine`]: { link: "Versions/Current/Engine" },
  "docs/readme.txt": "read me",
  "docs/latest": { link: "readme.txt" },
  "becomes-file": { link: "docs/readme.txt" },
  "becomes-link": "a plain file",
};
const v2: BuildFiles = {
  "lib/libengine.so.1.2": "engine 1.2 ".repeat(500),
  "lib/libengine.so.1.3": "engine 1.3 ".repeat(500),
  "lib/libengine.so.1": { link: "libengine.so.1.3" }, // retargeted
  "lib/libengine.so": { link: "libengine.so.1" },
  [`${FW}/Versions/A/Engine`]: { data: "framework A ".repeat(300), executable: true },
  [`${FW}/Versions/Current`]: { link: "A" },
  [`${FW}/Engine`]: { link: "Versions/Current/Engine" },
  "docs/readme.txt": "read me, v2",
  // docs/latest removed
  "becomes-file": "now a file",
  "becomes-link": { link: "docs/readme.txt" },
};

/** Every entry of a build description as it must be on disk: link target or file bytes. */
async function assertInstalled(dir: string, files: BuildFiles): Promise<void> {
  for (const [path, file] of Object.entries(files)) {
    const native = join(dir, ...path.split("/"));
    const stat = await lstat(native);
    if (typeof file === "object" && "link" in file) {
      assert.ok(stat.isSymbolicLink(), `${path} is a link`);
      assert.equal(await readlink(native), file.link, `${path} target`);
    } else {
      assert.ok(stat.isFile(), `${path} is a file`);
      const data = typeof file === "string" || file instanceof Uint8Array ? file : file.data;
      assert.deepEqual(await readFile(native), Buffer.from(data), `${path} bytes`);
    }
  }
}

for (const layout of ["inline", "tree"] as const) {
  describe(`symlinks (${layout} layout)`, () => {
    it("installs, updates, verifies, repairs and rolls back links", async (t) => {
      const fx = await repoFixture(t);
      const game = join(fx.dir, "game");
      await fx.publish(v1, { version: "1.0.0", layout });
      await fx.update(game);
      await assertInstalled(game, v1);
      // Reading through the installed links reaches the release's own files.
      assert.equal(await readFile(join(game, FW, "Engine"), "utf8"), "framework A ".repeat(300));
      assert.equal(await readFile(join(game, "lib/libengine.so"), "utf8"), "engine 1.2 ".repeat(500));
      assert.equal((await verify({ installDir: game })).ok, true);

      await fx.publish(v2, { version: "2.0.0", layout });
      const summary = await fx.update(game);
      await assertInstalled(game, v2);
      await assert.rejects(lstat(join(game, "docs/latest")), { code: "ENOENT" });
      assert.equal((await verify({ installDir: game })).ok, true);
      assert.ok(summary.filesWritten >= 4, `links and files written: ${summary.filesWritten}`);

      // A retargeted link is reported by verify and put back by repair.
      await rm(join(game, "lib/libengine.so.1"));
      await symlink("libengine.so.1.2", join(game, "lib/libengine.so.1"));
      await rm(join(game, "becomes-link"));
      await writeFile(join(game, "becomes-link"), "a file where a link belongs");
      const damaged = await verify({ installDir: game });
      assert.deepEqual(damaged.problems.map((p) => [p.path, p.problem]).sort(), [
        ["becomes-link", "not-a-link"],
        ["lib/libengine.so.1", "changed"],
      ]);
      await repair({ ...fx.options(game) });
      await assertInstalled(game, v2);
      assert.equal((await verify({ installDir: game })).ok, true);

      // Rollback restores v1's links exactly (the replaced link and the removed one).
      await rollback({ installDir: game });
      await assertInstalled(game, v1);
      assert.equal((await verify({ installDir: game })).ok, true);
    });
  });
}

describe("symlinks: refusals", () => {
  const outside: [string, BuildFiles][] = [
    ["absolute", { "a.txt": "a", abs: { link: "/etc/passwd" } }],
    ["leaves the build", { "a.txt": "a", "dir/up": { link: "../../outside" } }],
    ["dangling", { "a.txt": "a", nothing: { link: "missing.txt" } }],
    ["backslash", { "a.txt": "a", win: { link: "..\\a.txt" } }],
    ["into .ferry", { "a.txt": "a", f: { link: ".ferry/state.json" } }],
  ];
  for (const [name, files] of outside) {
    it(`publish refuses a link that is ${name}, and writes nothing`, async (t) => {
      const dir = await tempDir(t);
      const build = join(dir, "build");
      await writeBuild(build, files);
      const fx = await repoFixture(t);
      await assert.rejects(
        publish({ buildDir: build, repo: join(dir, "repo"), key: fx.key, version: "1.0.0" }),
        (error: unknown) =>
          isFerryError(error) && error.code === "E_SYMLINK" && /symbolic link/.test(error.message),
      );
      await assert.rejects(lstat(join(dir, "repo", "channels")), { code: "ENOENT" });
    });
  }

  it("a release with links announces the feature, so an older reader refuses it instead of misreading", async (t) => {
    const fx = await repoFixture(t);
    const result = await fx.publish(
      { "a.txt": "a", b: { link: "a.txt" } },
      { version: "1.0.0", layout: "inline" },
    );
    const json = JSON.parse(
      brotliDecompressSync(await readFile(join(fx.repo, "manifests", result.manifestHash))).toString(),
    );
    assert.deepEqual(json.requires, ["symlinks"]);
    // A reader that knows no features (every Ferry before this one) stops with E_UNSUPPORTED_FORMAT.
    assert.throws(
      () => checkFormatHeader(new JsonReader("release manifest", json), "ferry-release", []),
      (error: unknown) => isFerryError(error) && error.code === "E_UNSUPPORTED_FORMAT",
    );
    // A release without links keeps requires empty (its bytes do not change).
    const plain = await fx.publish({ "a.txt": "a" }, { version: "1.0.1", layout: "inline" });
    const plainJson = JSON.parse(
      brotliDecompressSync(await readFile(join(fx.repo, "manifests", plain.manifestHash))).toString(),
    );
    assert.deepEqual(plainJson.requires, []);
  });

  it("the client refuses forged link entries", () => {
    const base = {
      format: 1,
      type: "ferry-release",
      requires: ["symlinks"],
      version: "1.0.0",
      created: "2026-12-01T00:00:00Z",
      previous: null,
      chunking: { algorithm: "fastcdc-gear32-v1", min: 4096, avg: 16384, max: 65536 },
      packs: [],
      packages: { base: { optional: false } },
    };
    const link = (path: string, target: string, extra: object = {}) => ({
      path,
      size: 0,
      sha256: sha256(new TextEncoder().encode(target)),
      executable: false,
      package: "base",
      chunks: [],
      link: target,
      ...extra,
    });
    const code = (files: unknown[], requires = ["symlinks"]) => {
      try {
        parseManifest({ ...base, requires, files });
        return "accepted";
      } catch (error) {
        return isFerryError(error) ? error.code : String(error);
      }
    };
    assert.equal(code([link("a", "b")]), "accepted");
    assert.equal(code([link("a", "b")], []), "E_FORMAT"); // a link without the feature announced
    assert.equal(code([link("d/a", "../../x")]), "E_UNSAFE_PATH");
    assert.equal(code([link("a", "/etc/passwd")]), "E_UNSAFE_PATH");
    assert.equal(code([link("a", "x", { size: 3 })]), "E_FORMAT");
    assert.equal(code([link("a", "x", { executable: true })]), "E_FORMAT");
    // A file below a link would be written through it: the same rule as a file below a file.
    const below = {
      path: "a/f",
      size: 0,
      sha256: sha256(new Uint8Array()),
      executable: false,
      package: "base",
      chunks: [],
    };
    assert.equal(code([link("a", "b"), below]), "E_UNSAFE_PATH");
  });

  it("a link whose hash is not its target's is refused before anything is installed", async (t) => {
    const fx = await repoFixture(t);
    const result = await fx.publish(
      { "a.txt": "a", b: { link: "a.txt" } },
      { version: "1.0.0", layout: "inline" },
    );
    // A signed manifest cannot be changed without the key, so the client's own check is called on a
    // forged copy: the hash is what an update compares links by.
    const path = join(fx.repo, "manifests", result.manifestHash);
    const json = JSON.parse(brotliDecompressSync(await readFile(path)).toString());
    json.files[1].sha256 = "0".repeat(64);
    await assert.rejects(
      checkLinks(new NodeFileSystem(), nodeCrypto, parseManifest(json).files),
      (error: unknown) => isFerryError(error) && error.code === "E_HASH_MISMATCH",
    );
  });
});
