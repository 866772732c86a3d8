/**
 * The read-only operations (status, verify, readUpdateLog, check, cachedCheck, canUpdate) take no lock
 * and write nothing: they work on an install the user cannot write (a real non-root user, `setpriv` to
 * nobody, on a `chmod -R a-w` install; and a file system that refuses every write) and while a live
 * updater holds the install lock.
 */
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, lstat, readdir, readFile, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { canUpdate } from "../../src/client/ops/can-update.js";
import { cachedCheck } from "../../src/client/ops/check-cache.js";
import { status, verify } from "../../src/client/ops/inspect.js";
import { check } from "../../src/client/ops/update.js";
import { readUpdateLog } from "../../src/client/install/update-log.js";
import { ioError } from "../../src/core/errors.js";
import { ForwardingFileSystem } from "../../src/node/forwarding-fs.js";
import { NodeFileSystem } from "../../src/node/node-fs.js";
import type { FileWriter } from "../../src/ports/fs.js";
import { type BuildFiles, repoFixture, type ServedRepo } from "../helpers/served-repo.js";

const exec = promisify(execFile);
const cli = join(import.meta.dirname, "..", "..", "src", "cli", "main.js");

function build(version: number): BuildFiles {
  const files: Record<string, string> = { "game.bin": `game v${version}\n`.repeat(2000) };
  for (let d = 0; d < 6; d++)
    for (let f = 0; f < 4; f++) files[`data/d${d}/f${f}.txt`] = `${d}/${f} v${f === 0 ? version : 1}\n`;
  return files;
}

/** Every entry under `dir` (with .ferry/): kind, mode, size, mtime and content hash. */
async function snapshot(dir: string, prefix = ""): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of (await readdir(join(dir, prefix))).sort()) {
    const rel = prefix ? `${prefix}/${name}` : name;
    const s = await lstat(join(dir, rel));
    const hash = s.isFile()
      ? createHash("sha256")
          .update(await readFile(join(dir, rel)))
          .digest("hex")
      : "";
    out.set(rel, `${s.isDirectory() ? "d" : "f"} ${s.mode.toString(8)} ${s.size} ${s.mtimeMs} ${hash}`);
    if (s.isDirectory()) for (const [k, v] of await snapshot(dir, rel)) out.set(k, v);
  }
  return out;
}

/** v1 installed (tree layout, so check reads directory objects), v2 published. */
async function installed(t: Parameters<typeof repoFixture>[0], layout: "tree" | "inline") {
  const r = await repoFixture(t);
  await r.publish(build(1), { version: "1.0.0", layout });
  const install = join(r.dir, "install");
  await r.update(install);
  await r.publish(build(2), { version: "2.0.0", layout });
  return { r, install };
}

/** A file system on which every write fails as on a read-only volume (EROFS); reads pass. */
class RefusesWrites extends ForwardingFileSystem {
  readonly refused: string[] = [];
  constructor() {
    super(new NodeFileSystem());
  }
  private refuse(operation: string, path: string): Promise<never> {
    this.refused.push(`${operation} ${path}`);
    return Promise.reject(ioError(operation, path, Object.assign(new Error("EROFS"), { code: "EROFS" })));
  }
  override writable(): Promise<string | undefined> {
    return Promise.resolve("EROFS");
  }
  override createWriter(path: string): Promise<FileWriter> {
    return this.refuse("create", path);
  }
  override writeFile(path: string): Promise<void> {
    return this.refuse("write", path);
  }
  override writeFileAtomic(path: string): Promise<void> {
    return this.refuse("write", path);
  }
  override createExclusive(path: string): Promise<boolean> {
    return this.refuse("create", path);
  }
  override rename(from: string): Promise<void> {
    return this.refuse("rename", from);
  }
  override link(existing: string): Promise<void> {
    return this.refuse("link", existing);
  }
  override unlink(path: string): Promise<void> {
    return this.refuse("delete", path);
  }
  override mkdirp(path: string): Promise<void> {
    return existsSync(path) ? Promise.resolve() : this.refuse("mkdir", path);
  }
  override rmdirIfEmpty(path: string): Promise<boolean> {
    return this.refuse("rmdir", path);
  }
  override removeTree(path: string): Promise<void> {
    return this.refuse("remove", path);
  }
  override chmod(path: string): Promise<void> {
    return this.refuse("chmod", path);
  }
}

async function readOnlyCalls(r: ServedRepo, install: string, extra: { fs?: RefusesWrites } = {}) {
  const options = { ...r.options(install), ...extra };
  const st = await status({ installDir: install, ...extra });
  assert.equal(st.version, "1.0.0");
  const v = await verify({ installDir: install, ...extra });
  assert.equal(v.ok, true, JSON.stringify(v.problems));
  const log = await readUpdateLog({ installDir: install, ...extra });
  assert.equal(log.at(-1)?.kind, "updated");
  const checked = await check(options);
  assert.equal(checked.updateAvailable, true);
  assert.equal(checked.version, "2.0.0");
  assert.equal(checked.filesToWrite, 7);
  const cached = await cachedCheck(options);
  assert.equal(cached.source, "network");
  assert.equal(cached.version, "2.0.0");
  return canUpdate({ installDir: install, ...extra });
}

for (const layout of ["tree", "inline"] as const) {
  test(`read-only operations on a file system that refuses every write (${layout} release)`, async (t) => {
    const { r, install } = await installed(t, layout);
    const before = await snapshot(install);
    const fs = new RefusesWrites();
    const can = await readOnlyCalls(r, install, { fs });
    assert.deepEqual(fs.refused, [], "no write was even attempted");
    assert.equal(can.ok, false);
    assert.deepEqual(
      can.reasons.map((x) => x.code),
      ["E_NOT_WRITABLE", "E_NOT_WRITABLE"],
    );
    assert.match(can.reasons[0]!.message, /read-only file system/);
    assert.deepEqual(await snapshot(install), before, "nothing in the install changed");
  });
}

test("read-only operations while a live updater holds the install lock", async (t) => {
  const { r, install } = await installed(t, "tree");
  // The parent of this test process is alive: its lock is a live updater's.
  const lock = join(install, ".ferry", "lock");
  await writeFile(lock, JSON.stringify({ pid: process.ppid, host: hostname(), started: "now" }));
  const before = await snapshot(install);
  const can = await readOnlyCalls(r, install);
  assert.equal(can.ok, false);
  assert.deepEqual(
    can.reasons.map((x) => x.code),
    ["E_LOCKED"],
  );
  const after = await snapshot(install);
  // The check cache is the one file a cached check may add (advisory, atomic, written without the lock).
  after.delete(".ferry/check-cache.json");
  for (const map of [before, after]) map.delete(".ferry"); // its mtime: the cache's entry was added
  assert.deepEqual(after, before, "nothing but the check cache changed; the lock is the updater's");
});

test("a non-root user runs status, verify, log, check and can-update on an install it cannot write", async (t) => {
  if (process.getuid?.() !== 0 || !existsSync("/usr/bin/setpriv")) {
    t.skip("needs root and setpriv to run as nobody");
    return;
  }
  const { r, install } = await installed(t, "tree");
  const trust = join(r.dir, "ferry.pub");
  await writeFile(trust, r.publicText);
  await chmod(r.dir, 0o755);
  await exec("chmod", ["-R", "a-w,a+rX", install]);
  const before = await snapshot(install);
  const asNobody = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await exec(
        "setpriv",
        ["--reuid=65534", "--regid=65534", "--clear-groups", "--", process.execPath, cli, ...args],
        { cwd: "/" },
      );
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };
  const st = await asNobody("status", install, "--json");
  assert.equal(st.code, 0, st.stderr);
  assert.equal(JSON.parse(st.stdout.trim().split("\n").at(-1)!).version, "1.0.0");
  const v = await asNobody("verify", install);
  assert.equal(v.code, 0, v.stderr);
  const log = await asNobody("log", install);
  assert.equal(log.code, 0, log.stderr);
  assert.match(log.stdout, /updated/);
  const checked = await asNobody("check", r.url, install, "--trust", trust, "--json");
  assert.equal(checked.code, 0, checked.stderr);
  assert.match(checked.stdout, /"version":"2.0.0"/);
  const can = await asNobody("can-update", install, "--json");
  assert.equal(can.code, 1, "it cannot update: exit 1 with the reasons, not an error");
  const answer = JSON.parse(can.stdout.trim()) as { reasons: { code: string; message: string }[] };
  assert.deepEqual(
    answer.reasons.map((x) => x.code),
    ["E_NOT_WRITABLE", "E_NOT_WRITABLE"],
  );
  assert.match(answer.reasons[0]!.message, /EACCES/);
  assert.deepEqual(await snapshot(install), before, "nothing in the install changed");
  await exec("chmod", ["-R", "u+w", install]);
});
