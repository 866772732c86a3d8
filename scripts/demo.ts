/**
 * `npm run demo`: Ferry's main job end to end on built-in defaults. Publishes two versions of a sample
 * game into a local repository, serves it on loopback, installs v1, updates to v2 and prints what was
 * downloaded — all through the real CLI, as a studio and a player would run it.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { sampleGame, writeGame } from "../src/testing/game-fixture.js";

const cli = join(dirname(fileURLToPath(import.meta.url)), "..", "src", "cli", "main.js");
const run = promisify(execFile);

async function ferry(...args: string[]): Promise<string> {
  process.stdout.write(`\n$ ferry ${args.join(" ")}\n`);
  const { stdout, stderr } = await run(process.execPath, [cli, ...args]);
  process.stdout.write(stderr + stdout);
  return stdout;
}

const work = await mkdtemp(join(tmpdir(), "ferry-demo-"));
let server: ReturnType<typeof spawn> | undefined;
try {
  await writeGame(join(work, "game-v1"), sampleGame(1));
  await writeGame(join(work, "game-v2"), sampleGame(2));
  await ferry("keygen", join(work, "keys"));
  const key = join(work, "keys", "ferry.key");
  const trust = join(work, "keys", "ferry.pub");
  await ferry(
    "publish",
    join(work, "game-v1"),
    "--repo",
    join(work, "repo"),
    "--version",
    "1.0.0",
    "--key",
    key,
  );
  const serving = spawn(process.execPath, [cli, "serve", join(work, "repo"), "--port", "0"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  server = serving;
  const url = await new Promise<string>((resolve, reject) => {
    serving.stdout.setEncoding("utf8");
    serving.stdout.on("data", (text: string) => {
      const match = /(http:\/\/\S+)/.exec(text);
      if (match) resolve(match[1]!);
    });
    serving.once("exit", (code) => reject(new Error(`ferry serve exited with ${code}`)));
  });
  process.stdout.write(`\n(serving the repository at ${url})\n`);
  const install = join(work, "player", "game");
  await ferry("update", url, install, "--trust", trust);
  await ferry(
    "publish",
    join(work, "game-v2"),
    "--repo",
    join(work, "repo"),
    "--version",
    "2.0.0",
    "--key",
    key,
  );
  await ferry("check", url, install, "--trust", trust);
  const summary = JSON.parse(
    (await ferry("update", url, install, "--trust", trust, "--json")).trim().split("\n").at(-1)!,
  );
  await ferry("verify", install);
  await ferry("status", install);
  process.stdout.write(
    `\nDemo done: v1 -> v2 downloaded ${summary.bytesDownloaded} bytes in ${summary.requests} requests ` +
      `(${summary.filesWritten} files written, ${summary.filesDeleted} deleted, ${summary.filesKept} unchanged).\n`,
  );
} finally {
  server?.kill("SIGTERM");
  await rm(work, { recursive: true, force: true });
}
