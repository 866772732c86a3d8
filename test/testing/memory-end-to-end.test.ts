/**
 * The memory implementations together are enough to run Ferry end to end without a disk or a socket
 * for the repository and the install: publish into a MemoryStore, serve it with a MemoryTransport,
 * install and update with the client into a MemoryFileSystem (the build directory is the only thing
 * on disk: publish reads a build from a directory).
 */
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { test } from "node:test";
import { update } from "../../src/client/ops/update.js";
import { publish } from "../../src/publisher/publish.js";
import { sampleGame, writeGame } from "../../src/testing/game-fixture.js";
import { MemoryFileSystem } from "../../src/testing/memory-fs.js";
import { MemoryStore } from "../../src/testing/memory-store.js";
import { MemoryTransport } from "../../src/testing/memory-transport.js";
import { keys, tempDir } from "../helpers/helpers.js";

async function treeOf(fs: MemoryFileSystem, dir: string, prefix = ""): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of await fs.readdir(join(dir, prefix))) {
    const rel = prefix ? `${prefix}/${name}` : name;
    if (rel === ".ferry") continue;
    const s = await fs.stat(join(dir, rel));
    if (s?.kind === "directory") for (const [k, v] of await treeOf(fs, dir, rel)) out.set(k, v);
    else {
      const hash = createHash("sha256")
        .update(await fs.readFile(join(dir, rel)))
        .digest("hex");
      out.set(rel, `${hash} ${s?.executable ? "x" : "-"}`);
    }
  }
  return out;
}

function expected(version: 1 | 2): Map<string, string> {
  const out = new Map<string, string>();
  for (const [path, file] of sampleGame(version)) {
    out.set(path, `${createHash("sha256").update(file.data).digest("hex")} ${file.executable ? "x" : "-"}`);
  }
  return out;
}

const sorted = (m: Map<string, string>) => [...m].sort(([a], [b]) => (a < b ? -1 : 1));

test("memory store + memory transport + memory file system: publish v1, install it, publish v2, update to it", async (t) => {
  const dir = await tempDir(t);
  const store = new MemoryStore();
  t.after(() => store.close());
  const k = keys();
  const release = async (v: 1 | 2) => {
    const build = join(dir, `build-v${v}`);
    await writeGame(build, sampleGame(v));
    await publish({
      buildDir: build,
      repo: store,
      version: `${v}.0.0`,
      key: k.key,
      created: new Date(Date.UTC(2026, 0, v)),
      expiresInDays: 36500,
      rootExpiresInDays: 36500,
    });
  };
  const base = "http://memory.invalid/game/";
  const transport = MemoryTransport.serving(base, store);
  const fs = new MemoryFileSystem();
  await fs.mkdirp("/games/demo");
  const options = { repoUrl: base, installDir: "/games/demo", trust: [k.pub], fs, transport };

  await release(1);
  const first = await update(options);
  assert.equal(first.version, "1.0.0");
  assert.deepEqual(sorted(await treeOf(fs, "/games/demo")), sorted(expected(1)));

  await release(2);
  const second = await update(options);
  assert.equal(second.version, "2.0.0");
  assert.equal(second.previousVersion, "1.0.0");
  assert.deepEqual(sorted(await treeOf(fs, "/games/demo")), sorted(expected(2)));
  assert.ok(
    transport.requests.some((r) => r.headers.range !== undefined),
    "chunks were fetched by range",
  );
  assert.equal((await update(options)).upToDate, true);
});
