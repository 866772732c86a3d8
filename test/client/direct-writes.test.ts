/**
 * A fresh install writes each file's downloaded bytes straight into its staged file (issue 16): no
 * chunk is staged as a file of its own, each staged file is created once and synced once. A failed
 * run keeps what it downloaded (as staged chunks), so the re-run downloads nothing again.
 */
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join, sep } from "node:path";
import { test } from "node:test";
import { FerryError } from "../../src/core/errors.js";
import { ForwardingFileSystem } from "../../src/node/forwarding-fs.js";
import { NodeFileSystem } from "../../src/node/node-fs.js";
import type { FileWriter } from "../../src/ports/fs.js";
import { pseudoRandom } from "../../src/testing/game-fixture.js";
import { type BuildFiles, repoFixture } from "../helpers/served-repo.js";

const BUILD: BuildFiles = {
  "big.bin": pseudoRandom("direct-big", 1024 * 1024).toString("latin1"),
  ...Object.fromEntries(
    Array.from({ length: 40 }, (_, i) => [`data/d${i % 4}/f${i}.txt`, `file ${i}\n`.repeat(50 + i)]),
  ),
};

/** Counts what an install does in staging. */
class StagingCounter extends ForwardingFileSystem {
  chunkFiles = 0;
  readonly created = new Map<string, number>();
  readonly synced = new Map<string, number>();
  /** Fails the sync of staging/files/, the last step before the journal: every file is staged by then. */
  failStagingSync = false;

  constructor() {
    super(new NodeFileSystem());
  }

  override writeFile(path: string, data: Uint8Array): Promise<void> {
    if (path.includes(`${sep}staging${sep}chunks${sep}`)) this.chunkFiles++;
    return super.writeFile(path, data);
  }

  override async createWriter(path: string, mode?: number): Promise<FileWriter> {
    const writer = await super.createWriter(path, mode);
    if (!path.includes(`${sep}staging${sep}files${sep}`)) return writer;
    this.created.set(path, (this.created.get(path) ?? 0) + 1);
    return {
      write: (data) => writer.write(data),
      commit: () => {
        this.synced.set(path, (this.synced.get(path) ?? 0) + 1);
        return writer.commit();
      },
      abort: () => writer.abort(),
    };
  }

  override fsyncDir(path: string): Promise<void> {
    if (this.failStagingSync && path.endsWith(`${sep}staging${sep}files`)) {
      return Promise.reject(new FerryError("E_IO", `injected: cannot sync ${path}`, { path }));
    }
    return super.fsyncDir(path);
  }
}

test("a fresh install stages no chunk files and creates and syncs each staged file once", async (t) => {
  const r = await repoFixture(t);
  await r.publish(BUILD, { version: "1.0.0" });
  const fs = new StagingCounter();
  const result = await r.update(join(r.dir, "game"), { fs });
  assert.equal(result.version, "1.0.0");
  const files = Object.keys(BUILD).length;
  assert.ok(result.chunksFetched > files, `big.bin has several chunks (${result.chunksFetched} in all)`);
  // Only a chunk that arrives before the one ahead of it in its file (parallel range requests) is staged.
  assert.ok(fs.chunkFiles <= result.chunksFetched / 10, `${fs.chunkFiles} chunks staged as files`);
  assert.equal(fs.created.size, files, "one staged file per release file");
  assert.ok(
    [...fs.created.values()].every((n) => n === 1),
    "each staged file created once",
  );
  assert.equal(fs.synced.size, files);
  assert.ok(
    [...fs.synced.values()].every((n) => n === 1),
    "each staged file synced once",
  );
});

test("an install that fails after staging its files keeps the chunks, and the re-run downloads none", async (t) => {
  const r = await repoFixture(t);
  await r.publish(BUILD, { version: "1.0.0" });
  const install = join(r.dir, "game");
  const fs = new StagingCounter();
  fs.failStagingSync = true;
  await assert.rejects(
    r.update(install, { fs }),
    (e: unknown) => e instanceof FerryError && e.code === "E_IO",
  );
  const staged = await readdir(join(install, ".ferry", "staging", "chunks"));
  assert.ok(staged.length > Object.keys(BUILD).length, `the downloaded chunks were kept (${staged.length})`);
  const resumed = await r.update(install);
  assert.equal(resumed.version, "1.0.0");
  assert.equal(resumed.chunksFetched, 0, "nothing downloaded twice");
});
