/**
 * The Ren'Py module (integrations/renpy/ferry_updater.py) under python3 against a real repository
 * server and the real `ferry agent`: publishes 1.0.0 and 2.0.0 (with an optional `dlc` package), serves
 * them on loopback behind a proxy the Python tests control (request count, stop/start, slow packs), and
 * runs `python3 -m unittest` on integrations/renpy/tests. The Python tests assert installed bytes, states,
 * codes and request counts; this test asserts python's exit code and that every expected test passed.
 */
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { createServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { keys } from "../helpers/helpers.js";
import { repoFixture } from "../helpers/served-repo.js";

const root = join(import.meta.dirname, "..", "..", "..");
const cli = join(import.meta.dirname, "..", "..", "src", "cli", "main.js");
const renpyDir = join(root, "integrations", "renpy");

/** Every test of integrations/renpy/tests/test_ferry_updater.py: each must report "ok". */
const EXPECTED = [
  "UpdateTest.test_update_from_nothing_installs_the_release",
  "UpdateTest.test_update_v1_to_v2_with_progress",
  "UpdateTest.test_dlc_via_add_during_an_update",
  "UpdateTest.test_dlc_via_add_when_up_to_date",
  "UpdateTest.test_unknown_dlc_is_an_error_with_its_code",
  "UpdateTest.test_bad_trust_key_surfaces_the_error_code",
  "UpdateTest.test_missing_key_file_is_a_usage_error",
  "SimulateTest.test_simulate_available_runs_every_state_without_touching_the_install",
  "SimulateTest.test_simulate_not_available",
  "SimulateTest.test_simulate_error",
  "SimulateTest.test_simulate_rejects_an_unknown_mode",
  "SimulateTest.test_update_version_simulated",
  "UpdateVersionTest.test_cached_interval_and_server_down",
  "UpdateVersionTest.test_not_installed_gives_none_without_a_check",
  "CancelTest.test_cancel_during_download_leaves_the_old_release",
  "CancelTest.test_outside_renpy_update_raises_update_cancelled",
  "AgentStartTest.test_a_trust_file_the_agent_refuses_is_its_error_code",
  "AgentStartTest.test_hello_calls_and_clean_exit",
  "FindFerryTest.test_lookup_order",
  "FindFerryTest.test_a_file_without_execute_permission_is_skipped",
  "FindFerryTest.test_an_executable_that_cannot_run_is_e_agent",
  "ScreenFileTest.test_screen_file_structure",
];

/** Pack bodies, when slow: this many bytes per write, one write per PACE_MS (per connection). */
const SLICE = 4096;
const PACE_MS = 25;

/**
 * A proxy in front of the repository server: counts requests, can stop listening (the port refuses
 * connections) and start again on the same port, and can trickle pack bodies so an update can be
 * cancelled mid-download.
 */
async function startProxy(upstream: string) {
  const up = new URL(upstream);
  const state = { requests: 0, slow: false, slowRequests: 0 };
  const server: Server = createServer((req, res) => {
    state.requests++;
    const slow = state.slow && (req.url ?? "").includes("/packs/");
    if (slow) state.slowRequests++;
    const forward = httpRequest(
      { host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers },
      (answer: IncomingMessage) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        if (!slow) {
          answer.pipe(res);
          return;
        }
        void (async () => {
          for await (const chunk of answer as AsyncIterable<Buffer>) {
            for (let at = 0; at < chunk.length; at += SLICE) {
              if (res.destroyed) {
                answer.destroy();
                return;
              }
              res.write(chunk.subarray(at, at + SLICE));
              await sleep(PACE_MS);
            }
          }
          res.end();
        })().catch(() => res.destroy());
      },
    );
    forward.on("error", () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  let listening = true;
  return {
    url: `http://127.0.0.1:${port}/`,
    state,
    async stop() {
      if (!listening) return;
      listening = false;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
    async start() {
      if (listening) return;
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, "127.0.0.1", () => {
          server.off("error", reject);
          resolve();
        });
      });
      listening = true;
    },
  };
}

/** GET /count, POST /stop|/start|/slow|/fast for the Python tests. */
async function startControl(proxy: Awaited<ReturnType<typeof startProxy>>) {
  const actions: Record<string, () => Promise<void> | void> = {
    stop: () => proxy.stop(),
    start: () => proxy.start(),
    slow: () => {
      proxy.state.slow = true;
    },
    fast: () => {
      proxy.state.slow = false;
    },
  };
  const server = createServer((req, res) => {
    const name = (req.url ?? "").replace(/^\//, "");
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.method === "GET" && name === "count") return reply(200, { requests: proxy.state.requests });
    const action = req.method === "POST" ? actions[name] : undefined;
    if (!action) return reply(404, { error: `no control ${req.method} /${name}` });
    Promise.resolve(action()).then(
      () => reply(200, { ok: true }),
      (error: unknown) => reply(500, { error: String(error) }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

/** The interpreter: python3, or FERRY_PYTHON (e.g. a Python 3.9 as Ren'Py 8 embeds). */
const pythonBin = process.env.FERRY_PYTHON ?? "python3";
const python = spawnSync(pythonBin, ["--version"]).status === 0;

test(
  "ferry_updater (Ren'Py API) under python3 (or FERRY_PYTHON) against a served repository and the real agent",
  { skip: !python && `${pythonBin} is not installed`, timeout: 900_000 },
  async (t) => {
    const s = await repoFixture(t);
    const packages = {
      format: 1,
      type: "ferry-packages",
      packages: { dlc: { optional: true } },
      rules: [{ match: "dlc/**", package: "dlc" }],
    };
    const bg = randomBytes(200_000);
    const v1 = await s.publish(
      {
        "game/script.rpy": 'label start:\n    "Version one."\n    return\n',
        "game/images/bg.png": bg,
        "game/old.txt": "removed in 2.0.0\n",
        "renpy/lib.py": "print('engine')\n",
        "dlc/extra.rpa": randomBytes(100_000),
        "game.sh": { data: "#!/bin/sh\necho game\n", executable: true },
      },
      { version: "1.0.0", build: "v1", packages },
    );
    const v1Install = join(s.dir, "v1-install");
    await s.update(v1Install);
    const v2 = await s.publish(
      {
        "game/script.rpy": 'label start:\n    "Version two."\n    return\n',
        "game/images/bg.png": bg,
        // Incompressible and large enough that a slowed download is still running when it is cancelled.
        "game/audio/theme.ogg": randomBytes(3_000_000),
        "renpy/lib.py": "print('engine 2')\n",
        "dlc/extra.rpa": randomBytes(120_000),
        "dlc/more.rpa": randomBytes(50_000),
        "game.sh": { data: "#!/bin/sh\necho game 2\n", executable: true },
      },
      { version: "2.0.0", build: "v2", packages },
    );

    const proxy = await startProxy(s.url);
    t.after(() => proxy.stop());
    const control = await startControl(proxy);
    t.after(() => new Promise<void>((resolve) => control.server.close(() => resolve())));

    const trust = join(s.dir, "ferry.pub");
    const wrongTrust = join(s.dir, "wrong.pub");
    await writeFile(trust, s.publicText);
    await writeFile(wrongTrust, keys().publicText);
    const ferryBin = join(s.dir, "ferry-bin");
    await writeFile(
      ferryBin,
      `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} "$@"\n`,
    );
    await chmod(ferryBin, 0o755);
    const work = join(s.dir, "work");
    await mkdir(work);

    const child = spawn(pythonBin, ["-m", "unittest", "-v", "tests.test_ferry_updater"], {
      cwd: renpyDir,
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: s.dir,
        PYTHONDONTWRITEBYTECODE: "1",
        FERRY_BIN: ferryBin,
        FERRY_TEST_URL: proxy.url,
        FERRY_TEST_CONTROL: control.url,
        FERRY_TEST_TRUST: trust,
        FERRY_TEST_WRONG_TRUST: wrongTrust,
        FERRY_TEST_V1_INSTALL: v1Install,
        FERRY_TEST_V1_BUILD: v1.build,
        FERRY_TEST_V2_BUILD: v2.build,
        FERRY_TEST_WORK: work,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));

    const results = new Map<string, string>();
    for (const m of output.matchAll(
      /^(test_\w+) \(tests\.test_ferry_updater\.(\w+)(?:\.\w+)?\)\s*\.\.\. (\w+)/gm,
    ))
      results.set(`${m[2]}.${m[1]}`, m[3] ?? "");
    assert.equal(code, 0, `python3 -m unittest failed:\n${output}`);
    for (const name of EXPECTED)
      assert.equal(results.get(name), "ok", `${name}: ${results.get(name) ?? "did not run"}\n${output}`);
    const ran = /^Ran (\d+) tests? in [\d.]+s/m.exec(output);
    assert.equal(Number(ran?.[1]), EXPECTED.length, `python ran another number of tests:\n${output}`);
    assert.match(output, /^OK$/m, "no test was skipped");
    t.diagnostic(`python3: ${ran?.[0] ?? ""}; ${proxy.state.requests} repository requests`);
    assert.ok(proxy.state.slowRequests > 0, "the cancel tests downloaded through the slowed proxy");
  },
);
