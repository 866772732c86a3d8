/**
 * Publishing is a transaction, in process: guard rails (empty build, version not above the channel's,
 * expiry past or within days), compare-and-swap against a writer that skips the lock, the lock's
 * stale takeover, and create-only roots.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdir, readFile, utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { publish } from "../../src/publisher/publish.js";
import { DirectoryStore, type RepoStore } from "../../src/publisher/repo-store.js";
import { LOCK_FILE } from "../../src/publisher/repo-lock.js";
import { resign } from "../../src/publisher/resign.js";
import { rotateRoot } from "../../src/publisher/roots.js";
import { keys, rejectsWith, tempDir } from "../helpers/helpers.js";

async function build(dir: string, name: string, files = 2): Promise<string> {
  const path = join(dir, name);
  await mkdir(path, { recursive: true });
  for (let i = 0; i < files; i++) await writeFile(join(path, `f${i}.txt`), `${name} ${i}\n`);
  return path;
}

async function serialOf(repo: string): Promise<{ serial: number; version: string }> {
  const raw = JSON.parse(await readFile(join(repo, "channels", "stable.json"), "utf8")) as {
    signed: { serial: number; version: string };
  };
  return { serial: raw.signed.serial, version: raw.signed.version };
}

test("guard rails: empty build, version not above the channel's, expiry past or within days; each only with its flag", async (t) => {
  const dir = await tempDir(t);
  const repo = join(dir, "repo");
  const { key } = keys();
  const base = { repo, key };
  await publish({ ...base, buildDir: await build(dir, "b1"), version: "2.0.0" });
  const empty = await build(dir, "empty", 0);
  await rejectsWith(publish({ ...base, buildDir: empty, version: "3.0.0" }), "E_UNSAFE_PUBLISH");
  const b2 = await build(dir, "b2");
  for (const version of ["2.0.0", "1.9.9", "2.0.0-rc.1", "1.10.0"])
    await rejectsWith(publish({ ...base, buildDir: b2, version }), "E_UNSAFE_PUBLISH");
  // A clock 10 years behind (or an old SOURCE_DATE_EPOCH), and short expiries, by this machine's clock.
  const decadeAgo = new Date(Date.now() - 3653 * 86_400_000);
  await rejectsWith(
    publish({ ...base, buildDir: b2, version: "3.0.0", created: decadeAgo }),
    "E_UNSAFE_PUBLISH",
  );
  for (const expiresInDays of [0.5, 3, 6.9])
    await rejectsWith(
      publish({ ...base, buildDir: b2, version: "3.0.0", expiresInDays }),
      "E_UNSAFE_PUBLISH",
    );
  await rejectsWith(resign({ repo, keys: [key], expiresInDays: 2 }), "E_UNSAFE_PUBLISH");
  assert.deepEqual(
    await serialOf(repo),
    { serial: 1, version: "2.0.0" },
    "no refused command wrote a pointer",
  );
  // Each override lets exactly its case through.
  await publish({ ...base, buildDir: b2, version: "3.0.0", expiresInDays: 3, allowShortExpiry: true });
  await publish({ ...base, buildDir: b2, version: "2.5.0", allowDowngrade: true });
  await publish({ ...base, buildDir: empty, version: "4.0.0", allowEmpty: true });
  assert.deepEqual(await serialOf(repo), { serial: 4, version: "4.0.0" });
});

test("a writer that skips the lock loses the compare-and-swap: E_CONFLICT, the other writer's pointer stays", async (t) => {
  const dir = await tempDir(t);
  const repo = join(dir, "repo");
  const { key } = keys();
  await publish({ repo, key, buildDir: await build(dir, "b1"), version: "1.0.0" });
  for (const rival of ["resign", "publish"] as const) {
    const inner = new DirectoryStore(repo);
    let raced = false;
    // An old ferry (no lock) whose rival writes right after it read the channel.
    const unlocked: RepoStore = Object.assign(Object.create(inner) as DirectoryStore, {
      lock: undefined,
      async readTagged(path: string) {
        const found = await inner.readTagged(path);
        if (path === "channels/stable.json" && !raced) {
          raced = true;
          if (rival === "resign") await resign({ repo, keys: [key] });
          else await publish({ repo, key, buildDir: await build(dir, "rival"), version: "9.0.0" });
        }
        return found;
      },
    });
    const before = await serialOf(repo);
    await rejectsWith(
      publish({ repo: unlocked, key, buildDir: await build(dir, `loser-${rival}`), version: "5.0.0" }),
      "E_CONFLICT",
    );
    const after = await serialOf(repo);
    assert.equal(after.serial, before.serial + 1, `the ${rival} won, once`);
    assert.notEqual(after.version, "5.0.0");
  }
});

test("repository lock: a live holder refuses with E_LOCKED and nothing is written; a dead or silent holder is taken over", async (t) => {
  const dir = await tempDir(t);
  const repo = join(dir, "repo");
  const { key } = keys();
  await publish({ repo, key, buildDir: await build(dir, "b1"), version: "1.0.0" });
  const lockPath = join(repo, LOCK_FILE);
  const holder = (pid: number, host = hostname()) =>
    `${JSON.stringify({ token: `t${pid}`, command: "publish", host, pid, started: new Date().toISOString() })}\n`;
  // Live: this very process.
  await writeFile(lockPath, holder(process.pid));
  await rejectsWith(publish({ repo, key, buildDir: await build(dir, "b2"), version: "2.0.0" }), "E_LOCKED");
  await rejectsWith(resign({ repo, keys: [key] }), "E_LOCKED");
  await rejectsWith(rotateRoot({ repo, signers: [key] }), "E_LOCKED");
  assert.deepEqual(await serialOf(repo), { serial: 1, version: "1.0.0" });
  // Dead: a process of this host that has exited.
  const dead = spawnSync(process.execPath, ["-e", "process.pid"]).pid!;
  await writeFile(lockPath, holder(dead));
  await publish({ repo, key, buildDir: await build(dir, "b2"), version: "2.0.0" });
  // Silent: another host's lock whose heartbeat stopped longer than staleMs ago.
  await writeFile(lockPath, holder(1, "another-host"));
  const old = new Date(Date.now() - 10 * 60_000);
  await utimes(lockPath, old, old);
  await resign({ repo, keys: [key] });
  // Another host's fresh lock is respected.
  await writeFile(lockPath, holder(1, "another-host"));
  await rejectsWith(resign({ repo, keys: [key] }), "E_LOCKED");
  assert.deepEqual(await serialOf(repo), { serial: 3, version: "2.0.0" });
  // A shorter stale time (DirectoryStore option) takes it over sooner.
  const quick = new DirectoryStore(repo, { staleMs: 50 });
  await new Promise((r) => setTimeout(r, 120));
  await resign({ repo: quick, keys: [key] });
  assert.deepEqual(await serialOf(repo), { serial: 4, version: "2.0.0" });
});

test("roots are create-only: a second root N+1 is refused with E_CONFLICT", async (t) => {
  const dir = await tempDir(t);
  const repo = join(dir, "repo");
  const { key } = keys();
  await publish({ repo, key, buildDir: await build(dir, "b1"), version: "1.0.0" });
  const store = new DirectoryStore(repo);
  const root2 = await rotateRoot({ repo, signers: [key] });
  assert.equal(root2.version, 2);
  const bytes = (await store.read("root/2.json"))!;
  await rejectsWith(store.writeIf("root/2.json", new Uint8Array([...bytes, 10]), null), "E_CONFLICT");
  assert.deepEqual(await store.read("root/2.json"), bytes);
});
