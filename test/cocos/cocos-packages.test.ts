import "../../src/register-node.js";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { cocosFromRepository } from "../../src/cocos/from-repo.js";
import { FerryError } from "../../src/core/errors.js";
import type { FileWriter } from "../../src/ports/fs.js";
import { ForwardingFileSystem } from "../../src/node/forwarding-fs.js";
import { NodeFileSystem } from "../../src/node/node-fs.js";
import { ferry } from "../helpers/cli.js";
import { sandboxListing } from "../helpers/sandbox-hash.js";
import { repoFixture } from "../helpers/served-repo.js";

const URL_ = "https://cdn.example.com/game/remote-assets/";
const HD_OPTIONAL = {
  format: 1,
  type: "ferry-packages",
  packages: { hd: { optional: true } },
  rules: [{ match: "assets/hd/**", package: "hd" }],
};

function game(version: string): Record<string, string> {
  return {
    "src/main.js": `console.log(${JSON.stringify(version)});\n`,
    "assets/main/index.js": "x\n",
    "assets/main/config.json": `{"v":"${version}"}\n`,
    "assets/hd/big.png": `hd texture ${"#".repeat(3000)}\n`,
    "assets/hd/sky.png": `hd sky ${version}\n`,
  };
}

type Listed = { assets: Record<string, { size: number; md5: string }>; version: string };
const md5 = (text: string) => createHash("md5").update(text).digest("hex");

test("cocos-manifest --from-repo on a release with an optional package: default packages listed and copied, --packages adds one", async (t) => {
  const served = await repoFixture(t);
  const { dir, repo } = served;
  await served.publish(game("1"), { version: "1.0.0", packages: HD_OPTIONAL });
  await writeFile(join(dir, "root.pub"), served.publicText);
  const dest = join(dir, "cdn");
  const run = (...extra: string[]) =>
    ferry(
      "cocos-manifest",
      "--from-repo",
      repo,
      "--trust",
      join(dir, "root.pub"),
      "--url",
      URL_,
      "--dest",
      dest,
      "--json",
      ...extra,
    );
  const r = await run();
  assert.equal(r.code, 0, r.stderr);
  const listed = JSON.parse(await readFile(join(dest, "project.manifest"), "utf8")) as Listed;
  const base = Object.entries(game("1")).filter(([p]) => !p.startsWith("assets/hd/"));
  assert.deepEqual(Object.keys(listed.assets).sort(), base.map(([p]) => p).sort());
  for (const [path, text] of base) {
    assert.equal(await readFile(join(dest, path), "utf8"), text, path);
    assert.deepEqual(listed.assets[path], { size: Buffer.byteLength(text), md5: md5(text) }, path);
  }
  await assert.rejects(readFile(join(dest, "assets", "hd", "big.png")), { code: "ENOENT" });

  // --packages base,hd: the optional package is listed and copied too.
  const all = await run("--packages", "base,hd");
  assert.equal(all.code, 0, all.stderr);
  const withHd = JSON.parse(await readFile(join(dest, "project.manifest"), "utf8")) as Listed;
  assert.deepEqual(Object.keys(withHd.assets).sort(), Object.keys(game("1")).sort());
  assert.equal(await readFile(join(dest, "assets", "hd", "sky.png"), "utf8"), game("1")["assets/hd/sky.png"]);
  // --packages with --src is a usage error (exit 2).
  const wrong = await ferry(
    "cocos-manifest",
    "--src",
    dir,
    "--version",
    "1",
    "--url",
    URL_,
    "--dest",
    dest,
    "--packages",
    "hd",
  );
  assert.equal(wrong.code, 2, wrong.stderr);
  // Only the two runs' outputs sit beside dest: no staging directory is left.
  assert.deepEqual(
    (await readdir(dir)).filter((n) => n.includes("cdn")),
    ["cdn"],
  );
});

/** Fails the creation of the n-th copy (a full disk in the middle of the copy). */
class FailingNthWriter extends ForwardingFileSystem {
  writers = 0;
  constructor(private readonly failAt: number) {
    super(new NodeFileSystem());
  }
  override async createWriter(path: string, mode?: number): Promise<FileWriter> {
    if (path.includes(".tmp-ferry-") && ++this.writers === this.failAt)
      throw new FerryError("E_IO", `write ${path}: ENOSPC: no space left on device`, { path });
    return super.createWriter(path, mode);
  }
}

test("cocos-manifest --from-repo writes nothing on failure: a new dest is not created, an existing dest keeps every byte", async (t) => {
  const served = await repoFixture(t);
  const { dir, repo } = served;
  await served.publish(game("1"), { version: "1.0.0", packages: HD_OPTIONAL });
  const options = { repo, trust: [served.pub], url: URL_ };

  // A new dest: the failure leaves no dest and nothing beside it.
  const fresh = join(dir, "fresh-cdn");
  const before = (await readdir(dir)).sort();
  await assert.rejects(
    cocosFromRepository({ ...options, dest: fresh, fs: new FailingNthWriter(2) }),
    (e: unknown) => e instanceof FerryError && e.code === "E_IO" && /ENOSPC/.test(e.message),
  );
  assert.deepEqual((await readdir(dir)).sort(), before, "nothing created beside dest");

  // An existing dest (release 1.0.0 published for Cocos), then release 2.0.0 fails half-way.
  const dest = join(dir, "cdn");
  const first = await cocosFromRepository({ ...options, dest });
  assert.equal(first.version, "1.0.0");
  assert.equal(first.assets, 3);
  const listing = await sandboxListing(dest);
  await served.publish(game("2"), { version: "2.0.0", packages: HD_OPTIONAL });
  for (const failAt of [1, 3]) {
    await assert.rejects(
      cocosFromRepository({ ...options, dest, fs: new FailingNthWriter(failAt) }),
      (e: unknown) => e instanceof FerryError && e.code === "E_IO",
    );
    assert.deepEqual(await sandboxListing(dest), listing, `dest unchanged after a failure at copy ${failAt}`);
  }
  const beside = (await readdir(dir)).filter((n) => n.includes("cdn"));
  assert.deepEqual(beside, ["cdn"], "no staging directory left");

  // The same run without the fault updates dest; files of 1.0.0 stay (Cocos clients mid-update).
  const second = await cocosFromRepository({ ...options, dest });
  assert.equal(second.version, "2.0.0");
  assert.equal(await readFile(join(dest, "src", "main.js"), "utf8"), game("2")["src/main.js"]);
  const listed = JSON.parse(await readFile(join(dest, "version.manifest"), "utf8")) as { version: string };
  assert.equal(listed.version, "2.0.0");
});
