import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import { test } from "node:test";
import { NodeFileSystem } from "../../src/node/node-fs.js";
import { MemoryFileSystem } from "../../src/testing/memory-fs.js";
import { fileSystemContract } from "./fs-contract.js";

fileSystemContract("memory", async () => {
  const fs = new MemoryFileSystem();
  await fs.mkdirp("/work");
  return { fs, root: "/work" };
});

fileSystemContract("node", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "ferry-fs-contract-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  return { fs: new NodeFileSystem(), root };
});

const bytes = (s: string) => new TextEncoder().encode(s);

// The memory file system's own promise beyond the port: a power loss keeps exactly the durable view.
test("MemoryFileSystem.powerLoss keeps synced data and fsynced entries, drops the rest", async () => {
  const fs = new MemoryFileSystem();
  await fs.mkdirp("/i/d");
  await fs.writeFile("/i/d/plain", bytes("never synced"));
  await fs.writeFileAtomic("/i/d/atomic", bytes("durable"));
  const w = await fs.createWriter("/i/d/committed");
  await w.write(bytes("data"));
  await w.commit();
  let after = fs.powerLoss();
  assert.equal((await after.stat("/i/d"))?.kind, "directory", "mkdirp is durable on return");
  assert.equal(await after.stat("/i/d/plain"), undefined, "an entry not fsynced may vanish");
  assert.equal(await after.stat("/i/d/committed"), undefined);
  assert.equal(new TextDecoder().decode(await after.readFile("/i/d/atomic")), "durable");
  await fs.fsyncDir("/i/d");
  await fs.rename("/i/d/committed", "/i/d/renamed");
  after = fs.powerLoss();
  assert.equal((await after.readFile("/i/d/plain")).length, 0, "writeFile data is never durable by itself");
  assert.equal(new TextDecoder().decode(await after.readFile("/i/d/committed")), "data");
  assert.equal(await after.stat("/i/d/renamed"), undefined, "the rename is undone without fsyncDir");
  await fs.fsyncDir("/i/d");
  after = fs.powerLoss();
  assert.deepEqual((await after.readdir("/i/d")).sort(), ["atomic", "plain", "renamed"]);
});
