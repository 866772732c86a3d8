/**
 * integrations/defold/ferry.lua under lua5.4 with LuaSocket and a Debian JSON module, against the real
 * `ferry agent` over its loopback HTTP transport, serving a real published repository. The Lua scripts
 * (integrations/defold/tests/*.lua) assert what they can see and print one JSON line per step; this side
 * checks those lines against the release and the install on disk. lua5.4 missing is a failure (.ci/run
 * installs it), never a skip.
 */
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { test, type TestContext } from "node:test";
import { pseudoRandom } from "../../src/testing/game-fixture.js";
import { buildZip } from "../../src/testing/zip-writer.js";
import { repoFixture } from "../helpers/served-repo.js";

const root = join(import.meta.dirname, "..", "..", "..");
const defold = join(root, "integrations", "defold");
const cli = join(root, "dist", "src", "cli", "main.js");

interface Agent {
  readonly url: string;
  readonly token: string;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

/** Starts `ferry agent … --listen 127.0.0.1:0` and reads its first stdout line ({url, token}). */
async function startAgent(t: TestContext, args: string[]): Promise<Agent> {
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    [cli, "agent", ...args, "--listen", "127.0.0.1:0"],
    { stdio: ["pipe", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  t.after(stop);
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once("line", resolve);
    child.once("close", (code) =>
      reject(new Error(`ferry agent exited (${code}) before printing its address; stderr: ${stderr}`)),
    );
  });
  const hello = JSON.parse(first) as { url: string; token: string };
  assert.match(hello.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  assert.ok(hello.token.length >= 16, "the agent's token is too short to be unguessable");
  return { ...hello, stop };
}

const LUA_TIMEOUT_MS = 120_000;

interface LuaRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly steps: Map<string, unknown>;
}

/** Runs `lua5.4 tests/<file>` in integrations/defold with `env`; parses its {"step", "value"} lines. */
function runLua(file: string, env: Record<string, string>): Promise<LuaRun> {
  const child = spawn("lua5.4", [join("tests", file)], {
    cwd: defold,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  // A script that waits forever (a long-poll loop whose end never comes) fails instead of hanging.
  const limit = setTimeout(() => {
    stderr += `\n(killed after ${LUA_TIMEOUT_MS} ms)`;
    child.kill("SIGKILL");
  }, LUA_TIMEOUT_MS);
  child.on("close", () => clearTimeout(limit));
  return new Promise((resolve, reject) => {
    child.on("error", (error) =>
      reject(new Error(`cannot run lua5.4 (install lua5.4 lua-socket lua-cjson, as .ci/run does): ${error}`)),
    );
    child.on("close", (code) => {
      const steps = new Map<string, unknown>();
      for (const line of stdout.split("\n")) {
        if (!line.startsWith("{")) continue;
        const { step, value } = JSON.parse(line) as { step: string; value: unknown };
        steps.set(step, value);
      }
      resolve({ code, stdout, stderr, steps });
    });
  });
}

function assertPassed(run: LuaRun, marker: string): void {
  assert.equal(run.code, 0, `lua exited ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
  assert.ok(run.stdout.includes(marker), `no "${marker}" in:\n${run.stdout}`);
}

/** A loopback port nothing listens on (bound, then closed). */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.ok(address !== null && typeof address === "object");
  return address.port;
}

const level1Zip = buildZip([
  { name: "level1/map.txt", data: new TextEncoder().encode("level one map\n") },
  { name: "level1/tiles.bin", data: pseudoRandom("tiles", 20_000), method: 8 },
]);

/** A game whose level1 (an archive and loose data) is an optional package: left out of the first install. */
function game(): Map<string, Uint8Array> {
  return new Map<string, Uint8Array>([
    ["game.bin", pseudoRandom("game", 70_000)],
    ["main/boot.txt", new TextEncoder().encode("boot\n")],
    ["levels/level1.zip", level1Zip],
    ["levels/level1/music.ogg", pseudoRandom("music", 150_000)],
    ["levels/level1/intro.txt", new TextEncoder().encode("level one\n")],
  ]);
}

const LEVEL_RULES = {
  format: 1,
  type: "ferry-packages",
  packages: { level1: { optional: true } },
  rules: [
    { match: "levels/level1.zip", package: "level1" },
    { match: "levels/level1/**", package: "level1" },
  ],
};

async function installedGame(t: TestContext) {
  const repo = await repoFixture(t);
  const files = game();
  await repo.publish(files, { version: "1.0.0", packages: LEVEL_RULES });
  const installDir = join(repo.dir, "install");
  await repo.update(installDir);
  const trust = join(repo.dir, "root.pub");
  await writeFile(trust, repo.publicText);
  const agent = await startAgent(t, [repo.url, installDir, "--trust", trust]);
  return { repo, files, installDir, agent };
}

test("ferry.lua: get_mounts, add_mount/remove_mount with priorities and resolve order, through the real agent", async (t) => {
  const { repo, agent } = await installedGame(t);
  const zip = join(repo.dir, "pack.zip");
  await writeFile(
    zip,
    buildZip([
      { name: "shared.txt", data: new TextEncoder().encode("from the zip\n") },
      { name: "only-zip.txt", data: new TextEncoder().encode("z\n") },
    ]),
  );
  const dir = join(repo.dir, "season");
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "shared.txt"), "from the directory\n");
  await writeFile(join(dir, "only-dir.txt"), "d\n");

  const run = await runLua("mounts.lua", {
    FERRY_AGENT_URL: agent.url,
    FERRY_TOKEN: agent.token,
    MOUNT_ZIP: zip,
    MOUNT_DIR: dir,
  });
  assertPassed(run, "OK mounts");
  const s = run.steps;
  assert.equal(s.get("json"), "cjson");
  assert.equal(s.get("initial"), "");
  assert.equal(s.get("after-add"), "season@20,pack@10");
  assert.equal(s.get("resolve-shared-both"), "season", "the higher priority serves a path both hold");
  assert.equal(s.get("resolve-only-zip"), "pack", "a path only the lower one holds comes from it");
  assert.equal(s.get("readd-error"), "E_MOUNT_CONFLICT");
  assert.equal(s.get("same-priority-error"), "E_MOUNT_CONFLICT");
  assert.equal(s.get("resolve-shared-after-remove"), "season");
  assert.equal(s.get("resolve-only-zip-after-remove"), "none");
  assert.equal(s.get("resolve-shared-reprioritized"), "pack");
  assert.equal(s.get("after-reprioritize"), "pack@30,season@20");
  assert.equal(s.get("absent-error"), "E_NOT_FOUND");
  assert.deepEqual(s.get("engine-refused"), { code: "E_IO", result: 9 });
  assert.equal(s.get("resolve-after-refusal"), "pack", "the refused mount is not served by the agent either");
  assert.equal(s.get("final"), "pack@30,season@20");
  assert.deepEqual(
    s.get("remove-absent"),
    { result: -1, code: "E_NOT_FOUND", removed: false },
    "removing a name that is not mounted is the library's E_NOT_FOUND",
  );
});

test("ferry.lua: missing(level) lists what the level lacks, ensure downloads and mounts it, then nothing is missing", async (t) => {
  const { files, installDir, agent } = await installedGame(t);
  const level = [...files.keys()].filter((p) => p.startsWith("levels/")).sort();
  const run = await runLua("ensure.lua", {
    FERRY_AGENT_URL: agent.url,
    FERRY_TOKEN: agent.token,
    PACKAGE: "level1",
    ARCHIVE: "levels/level1.zip",
    ARCHIVE_ENTRY: "level1/map.txt",
    FERRY_VERSION: "1.0.0",
  });
  assertPassed(run, "OK ensure");
  const s = run.steps;
  const before = s.get("missing-before") as { paths: string[]; bytes: number; version: string };
  assert.deepEqual(before.paths, level);
  assert.equal(
    before.bytes,
    level.reduce((sum, p) => sum + files.get(p)!.length, 0),
  );
  assert.equal(before.version, "1.0.0");
  assert.equal(s.get("missing-unknown"), "E_USAGE");
  const ensured = s.get("ensure") as {
    filesWritten: number;
    version: string;
    mount: { name: string; uri: string; priority: number; version: string };
  };
  assert.equal(ensured.filesWritten, level.length);
  assert.equal(ensured.mount.name, "level1");
  assert.equal(ensured.mount.uri, join(installDir, "levels", "level1.zip"));
  assert.equal(ensured.mount.priority, 10);
  assert.equal(ensured.mount.version, "1.0.0");
  assert.equal(s.get("missing-after"), 0);
  assert.equal(s.get("resolve-entry"), "level1", "a path inside the delivered archive resolves to its mount");
  assert.equal(s.get("mount-version"), "1.0.0", "the mount's version comes from the verified install");
  assert.deepEqual(s.get("ensure-again"), { downloaded: false, mounted: true });
  assert.deepEqual(s.get("check"), { updateAvailable: false, version: "1.0.0" });
  const events = s.get("events") as { count: number; types: string[]; next: number };
  assert.ok(events.count > 0, "ensure's progress reached the long-poll");
  assert.equal(events.next >= events.count, true);
  assert.deepEqual(s.get("sync"), { engine: ["level1"], served: 1 });
  for (const path of level)
    assert.deepEqual(
      new Uint8Array(await readFile(join(installDir, ...path.split("/")))),
      new Uint8Array(files.get(path)!),
      `${path} on disk is the release's bytes`,
    );
});

test("ferry.lua: check finds the newer release, a background update reports progress and its end by long-poll, and the level stays complete", async (t) => {
  const repo = await repoFixture(t);
  await repo.publish(game(), { version: "1.0.0", packages: LEVEL_RULES });
  const installDir = join(repo.dir, "install");
  await repo.update(installDir, { packages: ["base", "level1"] });
  const next = game();
  next.set("game.bin", pseudoRandom("game-2", 70_000));
  next.set("levels/level1/music.ogg", pseudoRandom("music-2", 150_000));
  await repo.publish(next, { version: "2.0.0", packages: LEVEL_RULES });
  const trust = join(repo.dir, "root.pub");
  await writeFile(trust, repo.publicText);
  const agent = await startAgent(t, [repo.url, installDir, "--trust", trust]);
  const run = await runLua("update.lua", {
    FERRY_AGENT_URL: agent.url,
    FERRY_TOKEN: agent.token,
    PACKAGE: "level1",
    FERRY_VERSION: "2.0.0",
    FERRY_LUA_JSON: "dkjson",
  });
  assertPassed(run, "OK update");
  const s = run.steps;
  assert.equal(s.get("json"), "dkjson", "this run decodes with dkjson (the others with cjson)");
  assert.deepEqual(s.get("check"), { updateAvailable: true, version: "2.0.0" });
  assert.deepEqual(s.get("job"), { method: "update", version: "2.0.0" });
  const progress = s.get("progress") as { events: number; bytesDone: number };
  assert.ok(progress.events > 0, "progress events reached the long-poll");
  assert.ok(progress.bytesDone > 0, "progress counted downloaded bytes");
  assert.ok((s.get("states") as string[]).length > 0, "state changes reached the long-poll");
  assert.equal(s.get("missing-after"), 0);
  assert.equal(s.get("check-after"), false);
  for (const [path, data] of next)
    assert.deepEqual(
      new Uint8Array(await readFile(join(installDir, ...path.split("/")))),
      new Uint8Array(data),
      `${path} is the new release's bytes`,
    );
});

test("ferry.lua: a delivered archive stays mounted for the same engine build and sync drops it from the engine after an engine upgrade (no version_<name>.json)", async (t) => {
  const repo = await repoFixture(t);
  await repo.publish(game(), { version: "1.0.0", packages: LEVEL_RULES });
  const installDir = join(repo.dir, "install");
  await repo.update(installDir);
  const trust = join(repo.dir, "root.pub");
  await writeFile(trust, repo.publicText);
  const session = async (runtime: string, env: Record<string, string>) => {
    const agent = await startAgent(t, [repo.url, installDir, "--trust", trust, "--runtime", runtime]);
    const run = await runLua("stale.lua", {
      FERRY_AGENT_URL: agent.url,
      FERRY_TOKEN: agent.token,
      PACKAGE: "level1",
      ARCHIVE: "levels/level1.zip",
      ...env,
    });
    await agent.stop();
    assertPassed(run, `OK stale ${env.MODE}`);
    return run.steps;
  };
  const mounted = (await session("engine-1", { MODE: "mount" })).get("mounted");
  assert.equal(mounted, `zip:${join(installDir, "levels", "level1.zip")}`);
  assert.deepEqual((await session("engine-1", { MODE: "ensure" })).get("ensured"), {
    downloaded: false,
    engine: mounted,
    calls: 1,
  });
  const same = await session("engine-1", { MODE: "sync", ENGINE_MOUNT_URI: String(mounted) });
  assert.deepEqual(same.get("sync"), { agent: "level1", engine: "level1" }, "same engine build: kept");
  const upgraded = await session("engine-2", { MODE: "sync", ENGINE_MOUNT_URI: String(mounted) });
  assert.deepEqual(
    upgraded.get("sync"),
    { agent: "", engine: "" },
    "another engine build: the agent does not serve the stale mount and the engine drops it",
  );
});

test("ferry.lua: a wrong token surfaces the agent's E_UNAUTHORIZED; no agent at the url is E_NETWORK", async (t) => {
  const { agent } = await installedGame(t);
  const run = await runLua("bad_token.lua", {
    FERRY_AGENT_URL: agent.url,
    FERRY_TOKEN: agent.token,
    FERRY_DEAD_URL: `http://127.0.0.1:${await deadPort()}/`,
  });
  assertPassed(run, "OK bad_token");
  for (const step of ["get_mounts", "missing", "add_mount"])
    assert.deepEqual(run.steps.get(step), { code: "E_UNAUTHORIZED", status: 401 }, step);
  assert.deepEqual(run.steps.get("dead"), { code: "E_NETWORK", status: 0 });
});
