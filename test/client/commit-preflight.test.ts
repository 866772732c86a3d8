/**
 * The commit preflight and full volumes (docs/RELIABILITY.md "Commit preflight"): an obstacle the commit
 * could not pass (read-only or immutable directory or file, full disk or inode table) fails before the
 * journal, naming the path and the cause, with the install exactly the old release; a volume filled by
 * downloads never blocks the next command: it reclaims Ferry's leftovers. Real chattr +i cases
 * run where the system allows them (root on Linux), the fault-port cases everywhere.
 */
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { makeContext } from "../../src/client/context.js";
import { update } from "../../src/client/ops/update.js";
import { FerryError } from "../../src/core/errors.js";
import { NodeFileSystem } from "../../src/node/node-fs.js";
import type { FileSystem, VolumeSpace } from "../../src/ports/fs.js";
import { systemError } from "../../src/testing/fault-fs.js";
import { ForwardingFileSystem } from "../../src/node/forwarding-fs.js";
import { readTree } from "../helpers/helpers.js";
import { servedRepo, type Tree } from "../helpers/install-fixture.js";

const v1: Tree = { "game.bin": "game v1", "data/a.txt": "a1", "data/sub/b.txt": "b1", "keep.txt": "k" };
const v2: Tree = {
  "game.bin": "game v2",
  "data/a.txt": "a2",
  "data/sub/c.txt": "c2",
  "new/dir/d.txt": "d",
  "keep.txt": "k",
};

async function contents(install: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const path of (await readTree(install)).keys())
    out[path] = await readFile(join(install, path), "utf8");
  return out;
}

/** Refuses `writable` for chosen paths with a code, as access(2) would. */
class RefusingFs extends ForwardingFileSystem {
  constructor(
    inner: FileSystem,
    private readonly refuse: ReadonlyMap<string, string>,
  ) {
    super(inner);
  }
  override writable(path: string): Promise<string | undefined> {
    return Promise.resolve(this.refuse.get(path)).then((c) => c ?? super.writable(path));
  }
}

/** A volume whose free space / inodes are what the test says. */
class FullFs extends ForwardingFileSystem {
  constructor(
    inner: FileSystem,
    private readonly volume: () => VolumeSpace,
  ) {
    super(inner);
  }
  override freeSpace(): Promise<VolumeSpace> {
    return Promise.resolve(this.volume());
  }
}

function canRun(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

async function expectRefused(
  run: Promise<unknown>,
  code: string,
  path: string | undefined,
  why: RegExp,
): Promise<void> {
  await assert.rejects(run, (e: unknown) => {
    assert.ok(e instanceof FerryError, String(e));
    assert.equal(e.code, code, e.message);
    if (path !== undefined) assert.equal(e.data.path, path, e.message);
    assert.match(e.message, why);
    assert.doesNotMatch(e.message, /antivirus/);
    return true;
  });
}

describe("commit preflight", () => {
  it("every refused directory or file fails before the journal, naming it and its real cause", async (t) => {
    const r = await servedRepo(t);
    await r.release(v1);
    const template = await r.trial();
    await update({ repoUrl: r.url, installDir: template, trust: [r.pub] });
    await r.release(v2);
    // Each place the commit changes: directories receiving files (existing and nearest existing for a
    // new one), the directory of a removed file, replaced and removed files, and .ferry/.
    const places = [
      ["", "EACCES", /read-only directory/],
      ["data", "EACCES", /chmod u\+w/],
      ["data/sub", "EPERM", /immutable/],
      ["game.bin", "EPERM", /immutable/],
      ["data/a.txt", "EROFS", /read-only/],
      ["data/sub/b.txt", "EPERM", /chattr -i/],
      [".ferry", "EROFS", /mounted read-only/],
    ] as const;
    let cases = 0;
    for (const [place, code, why] of places) {
      const install = await r.trial(template);
      const native = place === "" ? install : join(install, ...place.split("/"));
      const fs = new RefusingFs(new NodeFileSystem(), new Map([[native, code]]));
      await expectRefused(
        update({ repoUrl: r.url, installDir: install, trust: [r.pub], fs }),
        "E_NOT_WRITABLE",
        native,
        why,
      );
      assert.deepEqual(await contents(install), v1, `${place}: the install is still v1`);
      assert.deepEqual((await readdir(join(install, ".ferry"))).includes("journal.json"), false);
      // Once the obstacle is gone the same install updates, reusing the verified downloads.
      const again = await update({ repoUrl: r.url, installDir: install, trust: [r.pub] });
      assert.equal(again.version, "2.0.0");
      assert.deepEqual(await contents(install), v2);
      cases++;
    }
    // EACCES on a file is no obstacle (a rename over it does not need its write permission).
    const install = await r.trial(template);
    const fs = new RefusingFs(new NodeFileSystem(), new Map([[join(install, "game.bin"), "EACCES"]]));
    await update({ repoUrl: r.url, installDir: install, trust: [r.pub], fs });
    assert.deepEqual(await contents(install), v2);
    assert.equal(cases, places.length);
  });

  it("a disk or inode table that filled up while downloading fails before the journal", async (t) => {
    const r = await servedRepo(t);
    await r.release(v1);
    const template = await r.trial();
    await update({ repoUrl: r.url, installDir: template, trust: [r.pub] });
    await r.release(v2);
    for (const [label, full] of [
      ["no inodes", { available: 1 << 30, blockSize: 4096, freeInodes: 2 }],
      ["no bytes", { available: 4096, blockSize: 4096, freeInodes: 1000 }],
    ] as const) {
      const install = await r.trial(template);
      let calls = 0;
      // Roomy for the download-time check (first call), full at the commit.
      const fs = new FullFs(new NodeFileSystem(), () =>
        ++calls === 1 ? { available: 1 << 30, blockSize: 4096, freeInodes: 1 << 20 } : full,
      );
      await expectRefused(
        update({ repoUrl: r.url, installDir: install, trust: [r.pub], fs }),
        "E_NO_SPACE",
        install,
        /volume is full/,
      );
      assert.deepEqual(await contents(install), v1, `${label}: still v1`);
      await update({ repoUrl: r.url, installDir: install, trust: [r.pub] });
      assert.deepEqual(await contents(install), v2, `${label}: updates once there is room`);
    }
  });

  it("real immutable file and directory (chattr +i), where the system allows it", async (t) => {
    const r = await servedRepo(t);
    const probe = join(r.dir, "probe");
    await writeFile(probe, "");
    if (!canRun("chattr", ["+i", probe])) {
      t.skip("chattr +i is not available here");
      return;
    }
    canRun("chattr", ["-i", probe]);
    await r.release(v1);
    const template = await r.trial();
    await update({ repoUrl: r.url, installDir: template, trust: [r.pub] });
    await r.release(v2);
    for (const place of ["game.bin", "data/sub", "data/sub/b.txt"]) {
      const install = await r.trial(template);
      const native = join(install, ...place.split("/"));
      execFileSync("chattr", ["+i", native]);
      try {
        await expectRefused(
          update({ repoUrl: r.url, installDir: install, trust: [r.pub] }),
          "E_NOT_WRITABLE",
          native,
          /immutable/,
        );
        assert.deepEqual(await contents(install), v1, `${place}: still v1`);
      } finally {
        execFileSync("chattr", ["-i", native]);
      }
      await update({ repoUrl: r.url, installDir: install, trust: [r.pub] });
      assert.deepEqual(await contents(install), v2);
    }
  });
});

describe("a volume filled by downloads", () => {
  it("the next command reclaims Ferry's leftovers instead of failing on .ferry/lock", async (t) => {
    const r = await servedRepo(t);
    await r.release(v1);
    const install = await r.trial();
    await update({ repoUrl: r.url, installDir: install, trust: [r.pub] });
    await r.release(v2);
    const chunks = join(install, ".ferry", "staging", "chunks");
    await mkdir(chunks, { recursive: true });
    for (let i = 0; i < 40; i++) await writeFile(join(chunks, i.toString(16).padStart(64, "0")), "partial");
    await writeFile(join(install, ".ferry", "state.json.tmp-abcdef"), "torn");
    // The inode table is full while those downloads exist: creating any file fails with ENOSPC.
    class InodesFull extends ForwardingFileSystem {
      override async createExclusive(path: string, data: Uint8Array): Promise<boolean> {
        if ((await this.readdir(chunks)).length > 0) throw systemError("ENOSPC", "open", `${path}.new`);
        return super.createExclusive(path, data);
      }
    }
    const fs = new InodesFull(new NodeFileSystem());
    const summary = await update({ repoUrl: r.url, installDir: install, trust: [r.pub], fs });
    assert.equal(summary.version, "2.0.0");
    assert.deepEqual(await contents(install), v2);
    assert.deepEqual(
      await readdir(join(install, ".ferry")).then((n) => n.filter((x) => x.includes(".tmp-"))),
      [],
    );
    // Still full after reclaiming (someone else's files): a clear E_NO_SPACE, never E_IO on the lock.
    class AlwaysFull extends ForwardingFileSystem {
      override createExclusive(path: string): Promise<boolean> {
        return Promise.reject(systemError("ENOSPC", "open", path));
      }
    }
    const ctx = makeContext(install, {});
    await expectRefused(
      update({
        repoUrl: r.url,
        installDir: install,
        trust: [r.pub],
        fs: new AlwaysFull(new NodeFileSystem()),
      }),
      "E_NO_SPACE",
      ctx.layout.lock,
      /removed its own leftover downloads/,
    );
  });
});
