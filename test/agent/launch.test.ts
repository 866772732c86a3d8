/**
 * `ferry launch` (src/agent/launch.ts, src/cli/launch-command.ts) with a real repository on loopback and a
 * "game" that is a small node script: it prints what it read from the install and ends as told.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { status } from "../../src/client/ops/inspect.js";
import { readUpdateLog } from "../../src/client/install/update-log.js";
import { readTree, sortedEntries } from "../helpers/helpers.js";
import { repoFixture } from "../helpers/served-repo.js";

const cli = join(import.meta.dirname, "..", "..", "src", "cli", "main.js");

/**
 * The game: prints one JSON line `{data, installDir, agentUrl}` (data.txt of the install), then, by its
 * first argument: `exit:<n>`, `sleep:<ms>:<n>` (exit n after ms), `kill` (SIGKILL itself),
 * `term:<file>` (waits for SIGTERM, writes the file, exits 42).
 */
const GAME = `
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
const dir = process.env.FERRY_INSTALL_DIR;
const data = readFileSync(join(dir, "data.txt"), "utf8");
process.stdout.write(JSON.stringify({ data, installDir: dir, agentUrl: process.env.FERRY_AGENT_URL ?? null }) + "\\n");
const [mode, a, b] = (process.argv[2] ?? "exit:0").split(":");
if (mode === "exit") process.exit(Number(a));
if (mode === "sleep") setTimeout(() => process.exit(Number(b)), Number(a));
if (mode === "kill") process.kill(process.pid, "SIGKILL");
if (mode === "agent") {
  // Through the agent: update (staged, since the game runs), read the file again, try what is refused,
  // open (answered from the launch), mark healthy; report each answer as one JSON line.
  const call = async (method, params = {}) => {
    const res = await fetch(new URL("v1/call", process.env.FERRY_AGENT_URL), {
      method: "POST",
      headers: { authorization: "Bearer " + process.env.FERRY_AGENT_TOKEN, "content-type": "application/json" },
      body: JSON.stringify({ method, params }),
    });
    return { status: res.status, body: await res.json() };
  };
  const report = (what, value) => process.stdout.write(JSON.stringify({ what, value }) + "\\n");
  report("update", await call("update"));
  report("after-update", readFileSync(join(dir, "data.txt"), "utf8"));
  report("repair", await call("repair"));
  report("rollback", await call("rollback"));
  report("open", await call("open"));
  report("markHealthy", await call("markHealthy"));
  const unauthorized = await fetch(new URL("v1/call", process.env.FERRY_AGENT_URL), { method: "POST", body: "{}" });
  report("no-token", unauthorized.status);
  process.exit(0);
}
if (mode === "term") {
  process.on("SIGTERM", () => { writeFileSync(a, "got SIGTERM"); process.exit(42); });
  writeFileSync(a + ".ready", "");
  setInterval(() => {}, 1000);
}
`;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function ferryLaunch(args: string[], onSpawn?: (pid: number) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, "launch", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", reject);
    child.once("spawn", () => onSpawn?.(child.pid!));
    child.once("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** The game's report line (the first JSON line on stdout). */
function gameSaw(run: Run): { data: string; installDir: string; agentUrl: string | null } {
  const line = run.stdout.split("\n").find((l) => l.startsWith("{"));
  assert.ok(line, `the game ran and reported; stdout: ${run.stdout}; stderr: ${run.stderr}`);
  return JSON.parse(line) as { data: string; installDir: string; agentUrl: string | null };
}

/** The JSON events launch --json wrote on stderr. */
function events(run: Run): Record<string, unknown>[] {
  return run.stderr
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function setup(t: Parameters<typeof repoFixture>[0]) {
  const fx = await repoFixture(t);
  const install = join(fx.dir, "install");
  const game = join(fx.dir, "game.mjs");
  await writeFile(game, GAME);
  await fx.publish({ "data.txt": "release one", "keep.txt": "same" }, { version: "1.0.0" });
  await fx.update(install);
  const launchGame = (mode: string, ...flags: string[]) =>
    ferryLaunch([install, "--json", ...flags, "--", process.execPath, game, mode]);
  return { ...fx, install, game, launchGame };
}

test("launch commits a staged update before the game starts; the game gets FERRY_INSTALL_DIR", async (t) => {
  const s = await setup(t);
  await s.publish({ "data.txt": "release two", "keep.txt": "same" }, { version: "2.0.0" });
  const staged = await s.update(s.install, { applyOn: "next-start" });
  assert.equal(staged.pending, true);
  assert.equal(await readFile(join(s.install, "data.txt"), "utf8"), "release one", "staging changes nothing");

  const run = await s.launchGame("exit:0");
  assert.equal(run.code, 0, run.stderr);
  const saw = gameSaw(run);
  assert.equal(saw.data, "release two", "the game read the staged release, committed before it started");
  assert.equal(saw.installDir, s.install);
  assert.equal(saw.agentUrl, null, "no agent was asked for: no FERRY_AGENT_URL");
  const opened = events(run).find((e) => e.type === "opened")?.open as {
    staged: { applied: boolean; version: string; fromVersion: string };
    launches: number;
  };
  assert.deepEqual(opened.staged, { applied: true, version: "2.0.0", fromVersion: "1.0.0" });
  assert.equal(opened.launches, 1);
  assert.equal((await status({ installDir: s.install })).version, "2.0.0");
  assert.ok((await readUpdateLog({ installDir: s.install })).some((e) => e.kind === "applied-staged"));
});

test("launch passes the game's exit code through, 128+n for a signal, and forwards SIGTERM", async (t) => {
  const s = await setup(t);
  const seven = await s.launchGame("exit:7");
  assert.equal(seven.code, 7);
  assert.equal(gameSaw(seven).data, "release one");
  assert.deepEqual(events(seven).at(-1), { type: "exited", code: 7, signal: null, healthy: false });

  const killed = await s.launchGame("kill");
  assert.equal(killed.code, 128 + 9, "SIGKILL ended the game: exit 137 as a shell reports it");
  assert.equal(killed.signal, null, "launch itself exited normally");

  const marker = join(s.dir, "term-marker");
  let launchPid = 0;
  const pending = ferryLaunch(
    [s.install, "--", process.execPath, s.game, `term:${marker}`],
    (pid) => (launchPid = pid),
  );
  // Wait until the game is up (it writes <marker>.ready), then signal launch, not the game.
  for (let i = 0; i < 200; i++) {
    if (
      await readFile(`${marker}.ready`).then(
        () => true,
        () => false,
      )
    )
      break;
    await new Promise((r) => setTimeout(r, 25));
  }
  process.kill(launchPid, "SIGTERM");
  const termed = await pending;
  assert.equal(termed.code, 42, termed.stderr);
  assert.equal(await readFile(marker, "utf8"), "got SIGTERM", "the game received the forwarded SIGTERM");
});

test("a crash loop rolls back at the next launch and blocks the failing release", async (t) => {
  const s = await setup(t);
  await s.publish({ "data.txt": "release two (crashes)", "keep.txt": "same" }, { version: "2.0.0" });
  await s.update(s.install);
  for (const launchNo of [1, 2]) {
    const crash = await s.launchGame("exit:3", "--max-unhealthy-launches", "2");
    assert.equal(crash.code, 3);
    assert.equal(gameSaw(crash).data, "release two (crashes)");
    const opened = events(crash).find((e) => e.type === "opened")?.open as {
      launches: number;
      healthy: boolean;
    };
    assert.deepEqual([opened.launches, opened.healthy], [launchNo, false]);
  }
  const third = await s.launchGame("exit:0", "--max-unhealthy-launches", "2");
  assert.equal(third.code, 0, third.stderr);
  assert.equal(gameSaw(third).data, "release one", "the third launch started the previous release");
  const opened = events(third).find((e) => e.type === "opened")?.open as {
    version: string;
    rolledBack: { code: string; fromVersion: string } | null;
  };
  assert.equal(opened.version, "1.0.0");
  assert.equal(opened.rolledBack?.code, "ROLLBACK_CRASH_LOOP");
  assert.equal(opened.rolledBack?.fromVersion, "2.0.0");
  const lifecycle = (await status({ installDir: s.install })).lifecycle;
  assert.deepEqual(
    lifecycle.blocked.map((b) => b.version),
    ["2.0.0"],
  );
  // The human form says so on stderr too.
  await s.publish({ "data.txt": "release three", "keep.txt": "same" }, { version: "3.0.0" });
  await s.update(s.install);
  const human = await ferryLaunch([s.install, "--", process.execPath, s.game, "exit:0"]);
  assert.match(human.stderr, /^ferry launch: starting 3\.0\.0 \(launch 1 not yet marked healthy\)$/m);
  assert.match(human.stderr, /^ferry launch: game exited with code 0$/m);
});

test("--healthy-after marks the release healthy once the game ran that long, or exited 0 before", async (t) => {
  const s = await setup(t);
  const health = async () => {
    const l = (await status({ installDir: s.install })).lifecycle;
    return { healthy: l.healthy, launches: l.launches };
  };
  // Exits non-zero before the time: the launch stays counted.
  const early = await s.launchGame("exit:1", "--healthy-after", "30");
  assert.equal(early.code, 1);
  assert.deepEqual(await health(), { healthy: false, launches: 1 });
  assert.equal(
    events(early).some((e) => e.type === "healthy"),
    false,
  );

  // Runs past the time, then fails: healthy (it started fine), and the exit code is still the game's.
  const late = await s.launchGame("sleep:1500:5", "--healthy-after", "0.3");
  assert.equal(late.code, 5);
  assert.deepEqual(
    events(late).find((e) => e.type === "healthy"),
    { type: "healthy", reason: "ran-long-enough" },
  );
  assert.deepEqual(await health(), { healthy: true, launches: 0 });

  // A new release, a clean exit before the time: healthy too.
  await s.publish({ "data.txt": "release two", "keep.txt": "same" }, { version: "2.0.0" });
  await s.update(s.install);
  const clean = await s.launchGame("exit:0", "--healthy-after", "30");
  assert.equal(clean.code, 0);
  assert.deepEqual(
    events(clean).find((e) => e.type === "healthy"),
    { type: "healthy", reason: "exited-cleanly" },
  );
  assert.deepEqual(await health(), { healthy: true, launches: 0 });

  // Without --healthy-after only the game can mark it: a clean exit leaves the launch counted.
  await s.publish({ "data.txt": "release three", "keep.txt": "same" }, { version: "3.0.0" });
  await s.update(s.install);
  const unmarked = await s.launchGame("exit:0");
  assert.equal(unmarked.code, 0);
  assert.deepEqual(await health(), { healthy: false, launches: 1 });
});

test("launch usage: its own strict options, exit 2; --help; a game that cannot start is exit 1", async (t) => {
  const s = await setup(t);
  const unknown = await ferryLaunch([s.install, "--bogus", "--", process.execPath, s.game]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /E_USAGE: .*--bogus.*ferry launch --help/);
  const noGame = await ferryLaunch([s.install]);
  assert.equal(noGame.code, 2);
  assert.match(noGame.stderr, /Missing the game's command after '--'/);
  const badCount = await ferryLaunch([s.install, "--max-unhealthy-launches", "0", "--", "x"]);
  assert.equal(badCount.code, 2);
  const help = await ferryLaunch(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^ferry launch — /);
  // Options after -- belong to the game, even ones launch also has.
  const gameFlags = await ferryLaunch([s.install, "--", process.execPath, s.game, "exit:4", "--help"]);
  assert.equal(gameFlags.code, 4);

  const missing = await ferryLaunch([s.install, "--", join(s.dir, "no-such-game")]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /E_IO: Starting the game failed for .*no-such-game/);
  const notInstall = await ferryLaunch([join(s.dir, "nowhere"), "--", process.execPath, s.game]);
  assert.equal(notInstall.code, 1);
});

test("with --repo the game updates through FERRY_AGENT_URL: staged only, bytes unchanged until exit, applied next launch", async (t) => {
  const s = await setup(t);
  const pubFile = join(s.dir, "root.pub");
  await writeFile(pubFile, s.publicText);
  await s.publish(
    { "data.txt": "release two", "keep.txt": "same", "new.txt": "added in two" },
    { version: "2.0.0" },
  );
  const agentFlags = ["--repo", s.url, "--trust", pubFile];
  const before = await readTree(s.install);

  const run = await s.launchGame("agent", ...agentFlags);
  assert.equal(run.code, 0, run.stderr);
  const saw = gameSaw(run);
  assert.equal(saw.data, "release one");
  assert.match(saw.agentUrl ?? "", /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const reports = new Map(
    run.stdout
      .split("\n")
      .filter((l) => l.startsWith('{"what"'))
      .map((l) => JSON.parse(l) as { what: string; value: unknown })
      .map((r) => [r.what, r.value]),
  );
  type Answer = { status: number; body: { result?: Record<string, unknown>; error?: { code: string } } };
  const updated = reports.get("update") as Answer;
  assert.equal(updated.status, 200, JSON.stringify(updated));
  assert.equal(updated.body.result?.pending, true, "the update through the agent was staged, not applied");
  assert.equal(updated.body.result?.version, "2.0.0");
  assert.equal(reports.get("after-update"), "release one", "the running game still reads its release");
  for (const refused of ["repair", "rollback"]) {
    const answer = reports.get(refused) as Answer;
    assert.equal(answer.status, 409, `${refused} while the game runs: ${JSON.stringify(answer)}`);
    assert.equal(answer.body.error?.code, "E_BUSY");
  }
  const opened = reports.get("open") as Answer;
  assert.equal(opened.status, 200);
  assert.equal(
    opened.body.result?.launches,
    1,
    "open through the agent answers the launch's open, no second count",
  );
  assert.equal((reports.get("markHealthy") as Answer).status, 200);
  assert.equal(reports.get("no-token"), 401);
  assert.ok(
    events(run).some((e) => e.type === "healthy" && e.reason === "game"),
    run.stderr,
  );

  // After the game exited: the files are still exactly release one's; the update waits staged.
  assert.deepEqual(sortedEntries(await readTree(s.install)), sortedEntries(before));
  const between = await status({ installDir: s.install });
  assert.equal(between.version, "1.0.0");
  assert.equal(between.lifecycle.pending, true);

  const next = await s.launchGame("exit:0", ...agentFlags);
  assert.equal(next.code, 0, next.stderr);
  assert.equal(gameSaw(next).data, "release two", "the next launch applied the staged update first");
  assert.equal(await readFile(join(s.install, "new.txt"), "utf8"), "added in two");
  assert.equal((await status({ installDir: s.install })).version, "2.0.0");
});
