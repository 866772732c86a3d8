/**
 * The standalone executable (scripts/build-executable.ts, docs/ENGINES.md): built once for this file, copied
 * into a folder with no node_modules, and run with a PATH that has no `node`, as a player's machine. It does
 * the end-to-end update flow of test/cli/e2e-cli-nginx.test.ts against a repository published with the
 * normal CLI and served on loopback: the install's bytes are exactly each release's.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { access, copyFile, mkdir, open, readFile, rm, writeFile } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { buildExecutable } from "../../scripts/build-executable.js";
import { serveRepository } from "../../src/server/static-server.js";
import { sampleGame, writeGame } from "../../src/testing/game-fixture.js";
import { ferry } from "../helpers/cli.js";
import { expectedTree, readTree, sortedEntries, tempDir } from "../helpers/helpers.js";

const exec = promisify(execFile);
const supported = process.platform === "linux" && process.arch === "x64";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function lastJson(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as Record<string, unknown>;
}

test(
  "the standalone executable updates an install with no Node and no node_modules",
  { skip: !supported },
  async (t) => {
    const dir = await tempDir(t);
    const built = await buildExecutable({ outDir: join(dir, "build") });
    t.diagnostic(
      `executable ${built.executableBytes} bytes (bundle ${built.bundleBytes} bytes, stripped: ${built.stripped}), built in ${Math.round(built.durationMs)} ms`,
    );
    const header = Buffer.alloc(4);
    const handle = await open(built.executable, "r");
    await handle.read(header, 0, 4, 0).finally(() => handle.close());
    assert.deepEqual([...header], [0x7f, 0x45, 0x4c, 0x46], "a native ELF binary, not a script for node");

    // A player's folder: the executable next to the game, nothing else; PATH has no node.
    const player = join(dir, "player");
    const emptyBin = join(dir, "empty-bin");
    await mkdir(player, { recursive: true });
    await mkdir(emptyBin);
    const exe = join(player, "ferry");
    await copyFile(built.executable, exe);
    await rm(join(dir, "build"), { recursive: true, force: true }); // the bundle next to it is gone too
    const env: NodeJS.ProcessEnv = { PATH: emptyBin, HOME: player, LANG: "C" };
    for (const entry of (env.PATH ?? "").split(delimiter))
      await assert.rejects(access(join(entry, "node")), "no node on the PATH the executable runs with");
    const run = async (...args: string[]): Promise<Run> => {
      try {
        const { stdout, stderr } = await exec(exe, args, { cwd: player, env, timeout: 120_000 });
        return { code: 0, stdout, stderr };
      } catch (error) {
        const e = error as { code?: number | string; stdout?: string; stderr?: string };
        return {
          code: typeof e.code === "number" ? e.code : 1,
          stdout: e.stdout ?? "",
          stderr: e.stderr ?? "",
        };
      }
    };
    await assert.rejects(access(join(player, "node_modules")));

    const help = await run("--help");
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^ferry — signed, content-addressed live updates/);
    assert.equal(help.stderr, "", "no SEA experimental warning or other noise on stderr");
    assert.equal((await run("no-such-command")).code, 2, "usage errors keep exit code 2");

    // Publish with the normal CLI (node + dist), serve on loopback.
    const repo = join(dir, "repo");
    for (const v of [1, 2] as const) await writeGame(join(dir, `v${v}`), sampleGame(v));
    assert.equal((await ferry("keygen", join(dir, "keys"))).code, 0);
    const key = join(dir, "keys", "ferry.key");
    const pub = join(player, "root.pub");
    await copyFile(join(dir, "keys", "ferry.pub"), pub);
    const p1 = await ferry("publish", join(dir, "v1"), "--repo", repo, "--version", "1.0.0", "--key", key);
    assert.equal(p1.code, 0, p1.stderr);
    const server = await serveRepository({ root: repo });
    t.after(() => server.close());
    const install = join(player, "game");

    const fresh = await run("update", server.url, install, "--trust", pub, "--json");
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.equal(lastJson(fresh.stdout).version, "1.0.0");
    assert.deepEqual(sortedEntries(await readTree(install)), sortedEntries(expectedTree(1)));

    const p2 = await ferry("publish", join(dir, "v2"), "--repo", repo, "--version", "2.0.0", "--key", key);
    assert.equal(p2.code, 0, p2.stderr);
    const checked = await run("check", server.url, install, "--trust", pub, "--json");
    assert.equal(checked.code, 0, checked.stderr);
    assert.equal(lastJson(checked.stdout).updateAvailable, true);
    const updated = await run("update", server.url, install, "--trust", pub, "--json");
    assert.equal(updated.code, 0, updated.stderr);
    const summary = lastJson(updated.stdout);
    assert.equal(summary.version, "2.0.0");
    assert.ok(
      (summary.bytesDownloaded as number) < (lastJson(fresh.stdout).bytesDownloaded as number) / 4,
      "a delta-sized download",
    );
    assert.deepEqual(sortedEntries(await readTree(install)), sortedEntries(expectedTree(2)));

    const status = await run("status", install, "--json");
    assert.equal(status.code, 0, status.stderr);
    assert.equal(lastJson(status.stdout).version, "2.0.0");
    const verified = await run("verify", install);
    assert.equal(verified.code, 0, verified.stdout);
    assert.match(verified.stdout, /^OK: \d+ files of version 2\.0\.0 verified/);
    await writeFile(join(install, "README.txt"), "changed by hand\n");
    const damaged = await run("verify", install);
    assert.equal(damaged.code, 1);
    assert.match(damaged.stdout, /changed\s+README\.txt/);

    // The other commands of the executable: the agent reports the package's version (no package.json
    // beside the executable), and launch starts a game and passes its exit code through.
    const agentRun = await new Promise<Run>((done) => {
      const child = execFile(
        exe,
        ["agent", server.url, install, "--trust", pub],
        { cwd: player, env },
        (error, stdout, stderr) =>
          done({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
      );
      child.stdin?.end();
    });
    assert.equal(agentRun.code, 0, agentRun.stderr);
    const hello = JSON.parse(agentRun.stdout.split("\n")[0]!) as { type: string; ferry: string };
    const pkg = JSON.parse(
      await readFile(join(import.meta.dirname, "..", "..", "..", "package.json"), "utf8"),
    ) as {
      version: string;
    };
    assert.deepEqual([hello.type, hello.ferry], ["hello", pkg.version]);
    const launched = await run(
      "launch",
      install,
      "--",
      "/bin/sh",
      "-c",
      'test -n "$FERRY_INSTALL_DIR" && exit 3',
    );
    assert.equal(launched.code, 3, launched.stderr);
    assert.match(launched.stderr, /^ferry launch: starting 2\.0\.0/m);

    // The optional AWS SDK is not in the executable: a clear E_MISSING_DEPENDENCY, exit 1.
    const s3 = await run(
      "publish",
      join(dir, "v1"),
      "--repo",
      "s3://bucket/prefix",
      "--version",
      "3.0.0",
      "--key",
      key,
    );
    assert.equal(s3.code, 1);
    assert.match(s3.stderr, /^ferry: E_MISSING_DEPENDENCY: .*standalone ferry executable does not include/);
  },
);
