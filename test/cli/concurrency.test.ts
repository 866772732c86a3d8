import "../../src/register-node.js";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, rm } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { status, verify } from "../../src/client/ops/inspect.js";
import { expectedTree, readTree, sortedEntries, v1InstallWithV2Published } from "../helpers/helpers.js";

const cli = join(import.meta.dirname, "..", "..", "src", "cli", "main.js");
const rounds = Number(process.env.FERRY_CONCURRENCY_ROUNDS ?? "20");
const updaters = Number(process.env.FERRY_CONCURRENCY_UPDATERS ?? "8");

interface Outcome {
  readonly exit: number | null;
  readonly result?: { upToDate: boolean; version: string };
  readonly error?: { code: string };
}

function runUpdate(args: string[]): Promise<Outcome> {
  const child = spawn(process.execPath, [cli, "update", ...args, "--json"], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) =>
    child.on("close", (exit) => {
      const lines = out
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as { type: string });
      const result = lines.find((l) => l.type === "result") as Outcome["result"] | undefined;
      const error = lines.find((l) => l.type === "error") as Outcome["error"] | undefined;
      resolve({ exit, ...(result ? { result } : {}), ...(error ? { error } : {}) });
    }),
  );
}

test(`${updaters} concurrent 'ferry update' processes on one install, ${rounds} rounds: one applies, the others wait out or find it current`, async (t) => {
  const s = await v1InstallWithV2Published(t);
  const trust = s.publicText.trim();
  const v2 = JSON.stringify(sortedEntries(expectedTree(2)));
  const totals = { applied: 0, locked: 0, upToDate: 0 };
  const started = Date.now();
  for (let round = 0; round < rounds; round++) {
    const install = join(s.dir, `round-${round}`);
    await cp(s.template, install, { recursive: true });
    const outcomes = await Promise.all(
      Array.from({ length: updaters }, () => runUpdate([s.server.url, install, "--trust", trust])),
    );
    let applied = 0;
    for (const o of outcomes) {
      if (o.result && !o.result.upToDate) {
        assert.equal(o.exit, 0);
        applied++;
      } else if (o.result) {
        assert.equal(o.exit, 0);
        totals.upToDate++;
      } else {
        assert.equal(o.error?.code, "E_LOCKED", `round ${round}: unexpected outcome ${JSON.stringify(o)}`);
        assert.equal(o.exit, 1);
        totals.locked++;
      }
    }
    assert.equal(applied, 1, `round ${round}: exactly one updater applies (${JSON.stringify(outcomes)})`);
    totals.applied += applied;
    assert.equal(
      JSON.stringify(sortedEntries(await readTree(install))),
      v2,
      `round ${round}: the tree is v2`,
    );
    assert.equal(existsSync(join(install, ".ferry", "lock")), false, `round ${round}: no lock is left`);
    assert.equal((await status({ installDir: install })).version, "2.0.0");
    assert.equal((await verify({ installDir: install })).ok, true);
    await rm(install, { recursive: true, force: true });
  }
  t.diagnostic(
    `${rounds} rounds × ${updaters} processes in ${Date.now() - started} ms: applied ${totals.applied}, E_LOCKED ${totals.locked}, up to date ${totals.upToDate}`,
  );
});
