import "../../src/register-node.js";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { spawn } from "node:child_process";
import { request } from "node:http";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { ferry } from "../helpers/cli.js";
import { keys, publishVersions, tempDir } from "../helpers/helpers.js";
import { repoFixture } from "../helpers/served-repo.js";

const cli = join(import.meta.dirname, "..", "..", "src", "cli", "main.js");

function lastJson(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
}

test("ferry can-update, check --max-age and update --force", async (t) => {
  const { dir, repo, server, ...k } = await repoFixture(t);
  await publishVersions(dir, repo, k.key, [1]);
  const pub = join(dir, "ferry.pub");
  await writeFile(pub, k.publicText);
  const install = join(dir, "install");

  // No install yet: can-update answers for a first install (exit 0), and creates nothing.
  const notInstalled = await ferry("can-update", install);
  assert.equal(notInstalled.code, 0, notInstalled.stderr);
  assert.match(notInstalled.stdout, /^Can install: no install yet/);
  assert.equal(existsSync(install), false);
  assert.equal((await ferry("update", server.url, install, "--trust", pub)).code, 0);
  const can = await ferry("can-update", install, "--json");
  assert.equal(can.code, 0);
  assert.equal(lastJson(can.stdout).ok, true);

  await publishVersions(dir, repo, k.key, [2]);
  const first = await ferry("check", server.url, install, "--trust", pub, "--max-age", "600", "--json");
  assert.equal(first.code, 0, first.stderr);
  assert.equal(lastJson(first.stdout).source, "network");
  assert.equal(lastJson(first.stdout).updateAvailable, true);
  const second = await ferry("check", server.url, install, "--trust", pub, "--max-age", "600");
  assert.match(second.stdout, /Update available: 1\.0\.0 -> 2\.0\.0, .* \(cached answer, \d+ s old\)/);
  const bad = await ferry("check", server.url, install, "--trust", pub, "--max-age", "soon");
  assert.equal(bad.code, 2);

  assert.equal((await ferry("update", server.url, install, "--trust", pub)).code, 0);
  const forced = await ferry("update", server.url, install, "--trust", pub, "--force", "--json");
  assert.equal(forced.code, 0, forced.stderr);
  const result = lastJson(forced.stdout);
  assert.equal(result.upToDate, false);
  assert.equal(result.version, "2.0.0");
  assert.equal(result.filesKept, 0);
});

/** One HTTP request to the screen with explicit headers (fetch cannot set Host). */
function call(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const base = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: base.hostname, port: base.port, path, method, headers, agent: false },
      (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

test("ferry ui --simulate serves the screen on 127.0.0.1; actions need the header and the right Host", async (t) => {
  const dir = await tempDir(t);
  const child = spawn(
    process.execPath,
    [
      cli,
      "ui",
      "http://127.0.0.1:9/",
      join(dir, "install"),
      "--trust",
      keys().publicText,
      "--simulate",
      "available",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  t.after(() => {
    if (child.exitCode === null) child.kill("SIGTERM");
  });
  let output = "";
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => {
      output += d.toString();
      const match = /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output);
      if (match) resolve(match[1]!);
    });
    child.on("exit", () => reject(new Error(`ferry ui exited: ${output}`)));
  });
  const page = await call(url, "GET", "/", { host: new URL(url).host });
  assert.equal(page.status, 200);
  assert.match(page.body, /<script src="\/ferry-update-view\.js"><\/script>/);
  // The component (served beside the page) builds the progress bar.
  const view = await call(url, "GET", "/ferry-update-view.js", { host: new URL(url).host });
  assert.equal(view.status, 200);
  assert.match(view.body, /add\(root, "progress", "bar"\)/);
  assert.equal((await call(url, "POST", "/api/check", { host: new URL(url).host })).status, 403);
  assert.equal(
    (await call(url, "POST", "/api/check", { host: "evil.example:80", "x-ferry-ui": "1" })).status,
    421,
    "DNS rebinding: a foreign Host is refused",
  );
  const accepted = await call(url, "POST", "/api/check", { host: new URL(url).host, "x-ferry-ui": "1" });
  assert.equal(accepted.status, 202);
  let state = "";
  for (let i = 0; i < 100 && state !== "available"; i++) {
    state = (
      JSON.parse((await call(url, "GET", "/api/state", { host: new URL(url).host })).body) as {
        state: string;
      }
    ).state;
    if (state !== "available") await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.equal(state, "available");
  child.kill("SIGTERM");
  const code = await new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.on("exit", (c) => resolve(c));
  });
  assert.equal(code, 0, output);
});
