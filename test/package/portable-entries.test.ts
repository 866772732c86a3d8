/**
 * ferry/client and ferry/core load where no Node builtin exists (issue 15: a core and client that run
 * anywhere). The static rule is in .dependency-cruiser.cjs ("portable-entries"); this proves it at run
 * time: a child Node process whose module resolver refuses every builtin (node:fs, path, crypto, …)
 * imports both entries, and runs a client operation end to end on nothing but injected ports.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { test } from "node:test";

const dist = join(import.meta.dirname, "..", "..", "src", "entries");

/** A resolve hook (module.register) that fails every builtin import of the code under test. */
const DENY_BUILTINS = `
import { builtinModules } from "node:module";
const builtins = new Set(builtinModules.flatMap((m) => [m, "node:" + m]));
export async function resolve(specifier, context, next) {
  if (builtins.has(specifier) && context.parentURL && context.parentURL.includes("/dist/src/"))
    throw new Error("builtin " + specifier + " imported by " + context.parentURL);
  return next(specifier, context);
}`;

function runDenied(script: string): { status: number | null; stdout: string; stderr: string } {
  const register = `import { register } from "node:module"; register("data:text/javascript,${encodeURIComponent(DENY_BUILTINS)}");`;
  const child = spawnSync(
    process.execPath,
    ["--import", `data:text/javascript,${encodeURIComponent(register)}`, "--input-type=module", "-e", script],
    { encoding: "utf8", timeout: 60_000 },
  );
  return { status: child.status, stdout: child.stdout, stderr: child.stderr };
}

test("the resolver hook has teeth: the Node entry (src/index.ts) fails to load under it", () => {
  const index = pathToFileURL(join(import.meta.dirname, "..", "..", "src", "index.js")).href;
  const run = runDenied(`await import(${JSON.stringify(index)});`);
  assert.notEqual(run.status, 0, "the Node entry imports builtins, so the hook must refuse it");
  assert.match(run.stderr, /builtin \S+ imported by/);
});

test("ferry/client and ferry/core load with every Node builtin refused, and status() runs on injected ports", () => {
  const client = pathToFileURL(join(dist, "client.js")).href;
  const core = pathToFileURL(join(dist, "core.js")).href;
  const script = `
    const client = await import(${JSON.stringify(client)});
    const core = await import(${JSON.stringify(core)});
    if (typeof client.update !== "function" || typeof core.parsePointer !== "function") throw new Error("exports missing");
    // No defaults are registered: an operation without deps says what to pass.
    const missing = await client.status({ installDir: "/game" }).then(() => "resolved", (e) => e.code);
    // A file system with nothing in it, and a host: status reports E_NOT_INSTALLED, never touching Node.
    const fs = new Proxy({}, { get: (_, name) => async () => (name === "readdir" ? [] : undefined) });
    const host = { absolutePath: (p) => p, pid: 1, hostname: () => "h", randomId: () => "0", processAlive: () => true };
    const clock = { now: () => new Date(0), sleep: async () => undefined };
    const noPort = new Proxy({}, { get: () => () => { throw new Error("not used"); } });
    client.registerDefaults({ fileSystem: () => fs, transport: () => noPort, clock, host, crypto: noPort, brotli: noPort });
    const answer = await client.status({ installDir: "/game" }).then(() => "resolved", (e) => e.code);
    console.log(JSON.stringify({ missing, answer }));
  `;
  const run = runDenied(script);
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout.trim().split("\n").at(-1)!), {
    missing: "E_USAGE",
    answer: "E_NOT_INSTALLED",
  });
});
