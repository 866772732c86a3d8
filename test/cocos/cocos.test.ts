import "../../src/register-node.js";
import assert from "node:assert/strict";
import { mkdir, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { cocosFromRepository } from "../../src/cocos/from-repo.js";
import { writeCocosManifests } from "../../src/cocos/generate.js";
import { FerryError } from "../../src/core/errors.js";
import { ForwardingFileSystem } from "../../src/node/forwarding-fs.js";
import { NodeFileSystem } from "../../src/node/node-fs.js";
import { publish } from "../../src/publisher/publish.js";
import { ferry } from "../helpers/cli.js";
import { keys, tempDir } from "../helpers/helpers.js";

/**
 * Cocos AssetsManagerEx manifests. The golden files in test/golden/cocos/ were written by hand from the
 * version_generator.js rules, with md5 and sizes from `md5sum` / `find -printf %s` over this same tree;
 * they are not produced by Ferry's code.
 */
const golden = (name: string) =>
  readFile(join(import.meta.dirname, "..", "..", "..", "test", "golden", "cocos", name), "utf8");
const URL_ = "https://cdn.example.com/game/remote-assets/";

/** The fixed tree the goldens describe: dot-names, .zip in two cases, encodeURI-worthy and integer-like names. */
const TREE: Record<string, string> = {
  "src/main.js": "console.log('hi');\n",
  "src/settings.json": '{"a":1}\n',
  "assets/main/index.js": "x\n",
  "assets/main/my file \u00fc.png": "png\n",
  "assets/res/[1].bin": "b\n",
  "assets/pack.zip": "PK-not-really\n",
  "assets/UPPER.ZIP": "z\n",
  "assets/.hidden": "h\n",
  ".git/config": "c\n",
  "assets/.dir/x.js": "d\n",
  "jsb-adapter/engine.js": "e\n",
  "10": "ten\n",
  "assets/a#b.js": "#\n",
  "assets/empty.txt": "",
};

async function writeTree(root: string, tree: Record<string, string> = TREE): Promise<void> {
  for (const [path, text] of Object.entries(tree)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
}

test("cocos-manifest: project.manifest and version.manifest equal the hand-written goldens", async (t) => {
  const dir = await tempDir(t);
  await writeTree(join(dir, "build"));
  const result = await writeCocosManifests({
    src: join(dir, "build"),
    version: "1.0.3",
    url: URL_,
    dest: join(dir, "out"),
  });
  assert.equal(result.assets, 11);
  assert.equal(
    await readFile(join(dir, "out", "project.manifest"), "utf8"),
    await golden("project.manifest"),
  );
  assert.equal(
    await readFile(join(dir, "out", "version.manifest"), "utf8"),
    await golden("version.manifest"),
  );
});

test("cocos-manifest CLI: --only walks only those top-level folders (golden)", async (t) => {
  const dir = await tempDir(t);
  await writeTree(join(dir, "build"));
  const r = await ferry(
    "cocos-manifest",
    "--src",
    join(dir, "build"),
    "--version",
    "2",
    "--url",
    URL_,
    "--dest",
    join(dir, "out"),
    "--only",
    "src,assets",
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /9 assets/);
  assert.equal(
    await readFile(join(dir, "out", "project.manifest"), "utf8"),
    await golden("only-src-assets.project.manifest"),
  );
});

test("cocos-manifest CLI: usage errors exit 2 (unknown flag, url without '/', missing --only folder is 1)", async (t) => {
  const dir = await tempDir(t);
  await writeTree(join(dir, "build"));
  const base = ["cocos-manifest", "--src", join(dir, "build"), "--version", "1", "--dest", join(dir, "out")];
  const unknown = await ferry(...base, "--url", URL_, "--verbose");
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /E_USAGE: .*--verbose/);
  const foreign = await ferry(...base, "--url", URL_, "--repo", "x"); // another command's flag
  assert.equal(foreign.code, 2);
  const slash = await ferry(...base, "--url", "https://cdn.example.com/game");
  assert.equal(slash.code, 2);
  assert.match(slash.stderr, /must end with '\/'/);
  const missing = await ferry(...base, "--url", URL_, "--only", "src,jsb-adapter,nope");
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /E_NOT_FOUND: --only nope/);
  await assert.rejects(readdir(join(dir, "out")), { code: "ENOENT" }, "nothing written on failure");
});

test("cocos-manifest: an unreadable file or a symlink fails the run and writes no manifest", async (t) => {
  const dir = await tempDir(t);
  await writeTree(join(dir, "build"));
  class FailingRead extends ForwardingFileSystem {
    override readBlocks(path: string): AsyncIterable<Uint8Array> {
      if (path.endsWith("settings.json")) throw new FerryError("E_IO", `read failed for ${path}: EACCES`);
      return super.readBlocks(path);
    }
  }
  await assert.rejects(
    writeCocosManifests({
      src: join(dir, "build"),
      version: "1",
      url: URL_,
      dest: join(dir, "out"),
      fs: new FailingRead(new NodeFileSystem()),
    }),
    (e: unknown) => e instanceof FerryError && e.code === "E_IO",
  );
  await assert.rejects(readdir(join(dir, "out")), { code: "ENOENT" });
  await symlink("/etc/passwd", join(dir, "build", "assets", "link.txt"));
  await assert.rejects(
    writeCocosManifests({ src: join(dir, "build"), version: "1", url: URL_, dest: join(dir, "out") }),
    (e: unknown) => e instanceof FerryError && e.code === "E_SYMLINK",
  );
  await assert.rejects(readdir(join(dir, "out")), { code: "ENOENT" });
});

test("cocos-manifest --from-repo: verified release files in packageUrl layout, same manifest as --src", async (t) => {
  const dir = await tempDir(t);
  const build = join(dir, "build");
  await writeTree(build);
  const { key, publicText } = keys();
  await publish({
    buildDir: build,
    repo: join(dir, "repo"),
    version: "3.1.0",
    key,
    expiresInDays: 30,
    rootExpiresInDays: 30,
  });
  await writeFile(join(dir, "root.pub"), publicText);
  const r = await ferry(
    "cocos-manifest",
    "--from-repo",
    join(dir, "repo"),
    "--trust",
    join(dir, "root.pub"),
    "--url",
    URL_,
    "--dest",
    join(dir, "cdn"),
    "--json",
  );
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as {
    type: string;
    version: string;
    assets: number;
  };
  assert.deepEqual([result.type, result.version, result.assets], ["result", "3.1.0", 11]);
  // The manifest equals the one generated straight from the build (golden with the release's version).
  const expected = (await golden("project.manifest")).replace('"version":"1.0.3"', '"version":"3.1.0"');
  assert.equal(await readFile(join(dir, "cdn", "project.manifest"), "utf8"), expected);
  // Every listed asset is at packageUrl + path, byte-identical; dot-names and .ferry are not published.
  for (const [path, text] of Object.entries(TREE)) {
    const skipped = path.split("/").some((s) => s.startsWith("."));
    if (skipped) await assert.rejects(readFile(join(dir, "cdn", path)), { code: "ENOENT" });
    else assert.equal(await readFile(join(dir, "cdn", path), "utf8"), text, path);
  }
  assert.deepEqual((await readdir(join(dir, "cdn"))).sort(), [
    "10",
    "assets",
    "jsb-adapter",
    "project.manifest",
    "src",
    "version.manifest",
  ]);

  // A release signed by a key the command was not told to trust is refused before anything is written.
  const other = keys();
  await writeFile(join(dir, "other.pub"), other.publicText);
  await assert.rejects(
    cocosFromRepository({
      repo: join(dir, "repo"),
      trust: [other.pub],
      url: URL_,
      dest: join(dir, "cdn2"),
    }),
    (e: unknown) => e instanceof FerryError && (e.code === "E_SIGNATURE" || e.code === "E_KEY"),
  );
  await assert.rejects(readdir(join(dir, "cdn2")), { code: "ENOENT" });
});
