/**
 * Ctrl-C (SIGINT) during `ferry update` and `ferry publish`, in a real child process: with --json the
 * stream ends with an E_ABORTED error line and exit 130; without it one line on stderr; the re-run
 * finishes (an update resumes with the chunks it already verified).
 */
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { startThrottledProxy } from "../../src/testing/throttled-proxy.js";
import { ferry } from "../helpers/cli.js";
import { readTree, tempDir } from "../helpers/helpers.js";
import { repoFixture, writeBuild } from "../helpers/served-repo.js";

const cli = join(import.meta.dirname, "..", "..", "src", "cli", "main.js");

interface Run {
  readonly child: ChildProcess;
  /** Resolves with the first stdout JSON line that `match` accepts. */
  readonly waitFor: (match: (line: Record<string, unknown>) => boolean) => Promise<Record<string, unknown>>;
  readonly done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

function start(args: string[]): Run {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  const waiters: {
    match: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }[] = [];
  let pending = "";
  child.stdout!.on("data", (d: Buffer) => {
    stdout += d.toString();
    pending += d.toString();
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const text of lines) {
      if (!text.startsWith("{")) continue;
      const line = JSON.parse(text) as Record<string, unknown>;
      for (const w of [...waiters])
        if (w.match(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
    }
  });
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on("close", (code) => resolve({ code, stdout, stderr })),
  );
  return {
    child,
    waitFor: (match) =>
      new Promise((resolve, reject) => {
        waiters.push({ match, resolve });
        void done.then(() =>
          reject(
            new Error(`the process ended before the awaited line; stdout:\n${stdout}\nstderr:\n${stderr}`),
          ),
        );
      }),
    done,
  };
}

function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A release of 3 MiB of random bytes, served through a proxy at 320 KiB/s (about 10 s to download). */
async function slowRelease(t: Parameters<typeof repoFixture>[0]) {
  const s = await repoFixture(t);
  const files = {
    "data/a.bin": randomBytes(1536 * 1024),
    "data/b.bin": randomBytes(1536 * 1024),
    "readme.txt": "hi",
  };
  await s.publish(files, { version: "1.0.0" });
  const proxy = await startThrottledProxy(s.url, { bytesPerTick: 16 * 1024, tickMs: 50 });
  t.after(() => proxy.close());
  const pub = join(s.dir, "ferry.pub");
  await writeFile(pub, s.publicText);
  return { s, proxy, pub, files };
}

test("Ctrl-C during 'update --json' ends with an E_ABORTED line and exit 130; the re-run resumes", async (t) => {
  const { s, proxy, pub, files } = await slowRelease(t);
  const install = join(s.dir, "game");
  const run = start(["update", proxy.url, install, "--trust", pub, "--json"]);
  await run.waitFor((l) => l.type === "download" && (l.bytes as number) > 256 * 1024);
  run.child.kill("SIGINT");
  const ended = await run.done;
  assert.equal(ended.code, 130, ended.stderr);
  const lines = jsonLines(ended.stdout);
  const last = lines.at(-1)!;
  assert.equal(last.type, "error");
  assert.equal(last.code, "E_ABORTED");
  assert.match(String(last.message), /Interrupted \(Ctrl-C\).*again/);
  assert.ok(!lines.some((l) => l.type === "result"), "no result after the interruption");
  assert.equal(ended.stderr.trim().split("\n").length, 1, `one line on stderr: ${ended.stderr}`);
  assert.ok(!existsSync(join(install, ".ferry", "lock")), "the lock is released");
  const plan = lines.find((l) => l.type === "plan")!;

  const again = await ferry("update", s.url, install, "--trust", pub, "--json");
  assert.equal(again.code, 0, again.stderr);
  const result = jsonLines(again.stdout).at(-1)!;
  assert.equal(result.type, "result");
  assert.equal(result.version, "1.0.0");
  assert.ok(
    (result.bytesDownloaded as number) < (plan.downloadBytes as number),
    `resumed: ${String(result.bytesDownloaded)} of ${String(plan.downloadBytes)} bytes downloaded again`,
  );
  const tree = await readTree(install);
  assert.equal(tree.get("data/a.bin"), (await readTree(join(s.dir, "build-1"))).get("data/a.bin"));
  assert.equal(tree.size, Object.keys(files).length);
});

test("Ctrl-C during 'update' without --json: one line on stderr, exit 130, no stack", async (t) => {
  const { s, proxy, pub } = await slowRelease(t);
  const install = join(s.dir, "game");
  const run = start(["update", proxy.url, install, "--trust", pub]);
  // Without --json there are no JSON lines: wait until the download runs.
  while (proxy.bytesSent() < 256 * 1024) await new Promise((r) => setTimeout(r, 50));
  run.child.kill("SIGINT");
  const ended = await run.done;
  assert.equal(ended.code, 130);
  const errors = ended.stderr.split(/[\r\n]/).filter((l) => l.startsWith("ferry:"));
  assert.equal(errors.length, 1, ended.stderr);
  assert.match(errors[0]!, /^ferry: E_ABORTED: Interrupted \(Ctrl-C\)/);
  assert.doesNotMatch(ended.stderr, /\n\s+at /, "no stack trace");
  assert.equal(ended.stdout, "");
});

test("Ctrl-C during 'publish --json' ends with an E_ABORTED line and exit 130; the re-run publishes", async (t) => {
  const dir = await tempDir(t);
  const s = await repoFixture(t);
  const build = join(dir, "build");
  // Enough data that chunking and compression take a while (chunk-progress every 4 MiB).
  await writeBuild(build, { "big.bin": randomBytes(48 * 1024 * 1024), "small.txt": "x" });
  const key = join(dir, "release.key");
  const keygen = await ferry("keygen", dir, "--name", "release");
  assert.equal(keygen.code, 0, keygen.stderr);
  const args = ["publish", build, "--repo", s.repo, "--version", "1.0.0", "--key", key, "--json"];
  const run = start(args);
  const phase = await run.waitFor((l) => l.type === "chunk-progress");
  assert.equal(phase.bytesTotal, 48 * 1024 * 1024 + 1);
  run.child.kill("SIGINT");
  const ended = await run.done;
  assert.equal(ended.code, 130, ended.stderr);
  const last = jsonLines(ended.stdout).at(-1)!;
  assert.equal(last.type, "error");
  assert.equal(last.code, "E_ABORTED");
  assert.ok(!existsSync(join(s.repo, "channels", "stable.json")), "nothing was published");

  const again = await ferry(...args);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(jsonLines(again.stdout).at(-1)!.type, "result");
  assert.ok(existsSync(join(s.repo, "channels", "stable.json")));
});
