/**
 * Publishing is a transaction (issue 14 §2): concurrent writers on one directory repository, as real
 * `ferry` child processes. Whatever the interleaving: no serial is ever written twice, the channel's
 * serial and version only go up, every loser fails with E_LOCKED / E_CONFLICT / E_UNSAFE_PUBLISH
 * before writing a pointer, and a client that updates in between is never stranded.
 * Size: FERRY_RACE_ROUNDS (default 3) rounds of FERRY_RACE_WRITERS (default 4) writers.
 */
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { update } from "../../src/client/ops/update.js";
import { parsePublicKey } from "../../src/node/node-keys.js";
import { serveRepository } from "../../src/server/static-server.js";
import { tempDir } from "../helpers/helpers.js";

const cli = join(import.meta.dirname, "..", "..", "src", "cli", "main.js");
const ROUNDS = Number(process.env.FERRY_RACE_ROUNDS ?? 3);
const WRITERS = Number(process.env.FERRY_RACE_WRITERS ?? 4);

interface Outcome {
  readonly args: readonly string[];
  readonly code: number;
  readonly result?: { serial?: number; version?: string; resigned?: string[] };
  readonly error?: string;
  readonly stderr: string;
}

/** One `ferry ... --json` child process; its result line or error code. */
function run(...args: string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args, "--json"], (error, stdout, stderr) => {
      const lines = stdout
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as { type: string; code?: string; serial?: number; version?: string });
      const result = lines.find((l) => l.type === "result");
      const failure = lines.find((l) => l.type === "error");
      resolve({
        args,
        code: error ? ((error as { code?: number }).code ?? 1) : 0,
        ...(result ? { result } : {}),
        ...(failure?.code ? { error: failure.code } : {}),
        stderr,
      });
    });
  });
}

async function writeBuild(dir: string, version: string): Promise<string> {
  const build = join(dir, `build-${version}`);
  await mkdir(join(build, "data"), { recursive: true });
  await writeFile(join(build, "game.txt"), `game ${version}\n`);
  await writeFile(join(build, "data", "level.bin"), Buffer.alloc(40_000, version));
  await writeFile(join(build, "data", "same.txt"), "unchanged\n");
  return build;
}

interface Pointer {
  readonly serial: number;
  readonly version: string;
}

async function pointer(repo: string): Promise<Pointer> {
  const bytes = await readFile(join(repo, "channels", "stable.json"));
  const body = (JSON.parse(bytes.toString("utf8")) as { signed: Pointer }).signed;
  return { serial: body.serial, version: body.version };
}

const LOSER_CODES = new Set(["E_LOCKED", "E_CONFLICT", "E_UNSAFE_PUBLISH"]);

/** Every loser failed with a transaction code; returns the winners. */
function winnersOf(outcomes: readonly Outcome[]): Outcome[] {
  for (const o of outcomes) {
    if (o.code !== 0)
      assert.ok(
        o.error !== undefined && LOSER_CODES.has(o.error),
        `loser ${o.args.join(" ")} failed with ${o.error}: ${o.stderr}`,
      );
  }
  return outcomes.filter((o) => o.code === 0);
}

test("concurrent ferry publish/resign/rollout/root/prune: one serial per release, never backwards, clients never stranded", async (t) => {
  const dir = await tempDir(t);
  const repo = join(dir, "repo");
  const keys = join(dir, "keys");
  assert.equal((await run("keygen", keys, "--name", "release")).code, 0);
  const key = join(keys, "release.key");
  const trust = [parsePublicKey(await readFile(join(keys, "release.pub"), "utf8"), "release.pub")];
  const first = await run(
    "publish",
    await writeBuild(dir, "1.0.0"),
    "--repo",
    repo,
    "--version",
    "1.0.0",
    "--key",
    key,
  );
  assert.equal(first.code, 0, first.stderr);
  const server = await serveRepository({ root: repo });
  t.after(() => server.close());
  const install = join(dir, "install");
  await update({ repoUrl: server.url, installDir: install, trust });

  const serials = new Map<number, string>([[1, "1.0.0"]]);
  let last = await pointer(repo);
  let clientErrors: string[] = [];
  let clientUpdates = 0;
  let contested = 0;
  let rotationsWon = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    const builds = await Promise.all(
      Array.from({ length: WRITERS }, (_, k) => writeBuild(dir, `${round + 1}.0.${k}`)),
    );
    // The client keeps updating while the writers race; it must never fail (E_ROLLBACK above all).
    let racing = true;
    const client = (async () => {
      while (racing) {
        await update({ repoUrl: server.url, installDir: install, trust }).then(
          () => clientUpdates++,
          (e: unknown) => clientErrors.push(String((e as Error).message)),
        );
      }
    })();
    // Odd rounds: publishers only; even rounds: one publisher against every other pointer/root writer.
    const jobs =
      round % 2 === 1
        ? builds.map((b, k) =>
            run("publish", b, "--repo", repo, "--version", `${round + 1}.0.${k}`, "--key", key),
          )
        : [
            run("publish", builds[0]!, "--repo", repo, "--version", `${round + 1}.0.0`, "--key", key),
            run("resign", "--repo", repo, "--key", key),
            run("root", "rotate", "--repo", repo, "--sign", key),
            run("prune", "--repo", repo, "--keep", "2", "--apply"),
            ...builds
              .slice(1)
              .map((b, k) =>
                run("publish", b, "--repo", repo, "--version", `${round + 1}.0.${k + 1}`, "--key", key),
              ),
          ];
    const outcomes = await Promise.all(jobs);
    racing = false;
    await client;
    assert.deepEqual(clientErrors, [], `client errors in round ${round}`);
    clientErrors = [];
    const winners = winnersOf(outcomes);
    if (winners.length < outcomes.length) contested++;
    // Pointer writers that won each took exactly one new serial, none shared. A winning `root rotate`
    // signed with the release key also re-signs the channel under the new root (rotateAndResign): one
    // more serial, which its result names by channel rather than by number.
    const pointerWins = winners.filter((o) => o.args[0] === "publish" || o.args[0] === "resign");
    const rotations = winners.filter((o) => o.args[0] === "root" && o.result?.resigned?.includes("stable"));
    rotationsWon += rotations.length;
    const now = await pointer(repo);
    assert.equal(
      now.serial,
      last.serial + pointerWins.length + rotations.length,
      `round ${round}: ${pointerWins.length} pointer wins, ${rotations.length} rotations re-signing the channel`,
    );
    for (const w of pointerWins) {
      const serial = w.result?.serial;
      assert.ok(serial !== undefined && serial > last.serial && serial <= now.serial);
      assert.ok(!serials.has(serial), `serial ${serial} written twice`);
      serials.set(serial, w.result?.version ?? "");
    }
    assert.ok(now.serial > last.serial || pointerWins.length + rotations.length === 0);
    // The version never went down (publishes above the channel's only; resign keeps it).
    const ordered = [...serials.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
    for (let i = 1; i < ordered.length; i++) {
      const [a, b] = [ordered[i - 1]!, ordered[i]!].map((v) => v.split(".").map(Number));
      assert.ok(
        a![0]! < b![0]! || (a![0] === b![0] && a![2]! <= b![2]!),
        `versions went backwards: ${ordered.join(" -> ")}`,
      );
    }
    // The client ends on the channel's release.
    const summary = await update({ repoUrl: server.url, installDir: install, trust });
    assert.equal(summary.version, now.version);
    last = now;
  }
  t.diagnostic(
    `${ROUNDS} rounds x ${WRITERS}+ writers: ${serials.size} serials, ${contested} contested rounds, ${rotationsWon} rotations won, ${clientUpdates} client updates during races`,
  );
  assert.ok(contested > 0, "no round had a losing writer: the race never happened");
});
