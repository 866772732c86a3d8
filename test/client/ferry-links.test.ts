/**
 * Nothing under .ferry/ is followed through a link (docs/SECURITY.md "Links under .ferry/"). Every
 * Ferry-owned path × (link to a directory outside, dangling link, link to a file outside) × (update,
 * check, and the update after the link is removed): the outside is byte-for-byte unchanged, the command
 * is refused with E_UNSAFE_PATH naming the link, and removing the link is the way forward.
 */
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { lstat, mkdir, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { check, update } from "../../src/client/ops/update.js";
import { FerryError } from "../../src/core/errors.js";
import { servedRepo, type Tree } from "../helpers/install-fixture.js";

const v1: Tree = { "game.bin": "game v1", "data/a.txt": "a1", "data/b.txt": "b1" };
const v2: Tree = { "game.bin": "game v2", "data/a.txt": "a2", "data/c.txt": "c2" };

/** Ferry-owned paths under the install (relative), directories first. */
const OWNED = [
  ".ferry",
  ".ferry/staging",
  ".ferry/staging/chunks",
  ".ferry/staging/files",
  ".ferry/objects",
  ".ferry/manifests",
  ".ferry/stats",
  ".ferry/previous",
  ".ferry/displaced",
  ".ferry/state.json",
  ".ferry/journal.json",
  ".ferry/pending.json",
  ".ferry/health.json",
  ".ferry/install-id",
  ".ferry/update-log.jsonl",
];
const LINKS = ["outside-dir", "dangling", "outside-file"] as const;

/** path → sha256 (or "dir"), recursively, without following links. */
async function snapshot(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      const s = await lstat(path);
      if (s.isDirectory()) {
        out.set(path, "dir");
        await walk(path);
      } else if (s.isSymbolicLink()) out.set(path, "link");
      else
        out.set(
          path,
          createHash("sha256")
            .update(await readFile(path))
            .digest("hex"),
        );
    }
  };
  await walk(root);
  return out;
}

describe("links under .ferry/", () => {
  it(`are never followed: ${OWNED.length} paths × ${LINKS.length} link kinds`, async (t) => {
    const r = await servedRepo(t);
    await r.release(v1);
    const template = await r.trial();
    await update({ repoUrl: r.url, installDir: template, trust: [r.pub] });
    // The kept previous release's directories exist only after a second update.
    await r.release(v2);
    let refused = 0;
    let cases = 0;
    for (const owned of OWNED) {
      for (const kind of LINKS) {
        cases++;
        const install = await r.trial(template);
        const outside = join(r.dir, `outside-${cases}`);
        await mkdir(join(outside, "dir"), { recursive: true });
        await writeFile(join(outside, "file"), `the outside ${cases}`);
        await writeFile(join(outside, "dir", "kept"), "kept");
        const at = join(install, ...owned.split("/"));
        await rm(at, { recursive: true, force: true });
        await mkdir(join(at, ".."), { recursive: true });
        const target =
          kind === "outside-dir"
            ? join(outside, "dir")
            : kind === "outside-file"
              ? join(outside, "file")
              : join(outside, "none");
        await symlink(target, at);
        const before = await snapshot(outside);
        for (const run of [
          () => update({ repoUrl: r.url, installDir: install, trust: [r.pub] }),
          () => check({ repoUrl: r.url, installDir: install, trust: [r.pub] }),
        ]) {
          await assert.rejects(run(), (e: unknown) => {
            assert.ok(e instanceof FerryError, String(e));
            assert.equal(e.code, "E_UNSAFE_PATH", `${owned} (${kind}): ${e.message}`);
            assert.equal(e.data.path, at, e.message);
            return true;
          });
          refused++;
        }
        assert.deepEqual(await snapshot(outside), before, `${owned} (${kind}): the outside is unchanged`);
        // The way forward: remove the link.
        await rm(at);
        const summary = await update({ repoUrl: r.url, installDir: install, trust: [r.pub] });
        assert.equal(summary.version, "2.0.0", `${owned} (${kind})`);
        assert.deepEqual(await snapshot(outside), before, `${owned} (${kind}): still unchanged`);
      }
    }
    assert.equal(refused, OWNED.length * LINKS.length * 2);
  });

  it("a linked previous/<hash>/files is refused before a commit moves old files into it", async (t) => {
    const r = await servedRepo(t);
    await r.release(v1);
    const install = await r.trial();
    await update({ repoUrl: r.url, installDir: install, trust: [r.pub] });
    await r.release(v2);
    await update({ repoUrl: r.url, installDir: install, trust: [r.pub] });
    const [hash] = await readdir(join(install, ".ferry", "previous"));
    assert.ok(hash);
    const outside = join(r.dir, "outside-previous");
    await mkdir(outside);
    for (const sub of ["files", ""]) {
      const at = join(install, ".ferry", "previous", hash, sub);
      await rm(at, { recursive: true, force: true });
      await symlink(outside, at);
      await r.release({ ...v2, [`new-${sub || "dir"}.txt`]: "x" });
      await assert.rejects(update({ repoUrl: r.url, installDir: install, trust: [r.pub] }), (e: unknown) => {
        assert.ok(e instanceof FerryError && e.code === "E_UNSAFE_PATH" && e.data.path === at, String(e));
        return true;
      });
      assert.deepEqual(await readdir(outside), [], "nothing was written outside");
      await rm(at);
    }
  });
});
