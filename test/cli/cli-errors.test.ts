/** Errors at the top of the CLI: a non-FerryError is one line with "internal error" advice, a stack only with FERRY_DEBUG. */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { tempDir } from "../helpers/helpers.js";

const cli = join(import.meta.dirname, "..", "..", "src", "cli", "main.js");
const hooks = join(import.meta.dirname, "..", "helpers", "throwing-hooks.js");

async function run(args: string[], env: NodeJS.ProcessEnv) {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ["--import", hooks, cli, ...args],
      { env },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    return error as { code: number; stdout: string; stderr: string };
  }
}

test("a non-FerryError reaching the top is one line plus 'internal error' advice; FERRY_DEBUG adds the stack", async (t) => {
  const dir = await tempDir(t);
  const install = join(dir, "game");
  await mkdir(join(install, ".ferry"), { recursive: true });
  const env = { ...process.env };
  delete env.FERRY_DEBUG;
  const plain = await run(["rollback", install], env);
  assert.equal(plain.code, 1, plain.stderr);
  assert.equal(plain.stderr.trim().split("\n").length, 1, plain.stderr);
  assert.match(
    plain.stderr,
    /^ferry: internal error: TypeError: a bug in a file system adapter\. This is a bug in ferry: .*FERRY_DEBUG=1/,
  );
  assert.doesNotMatch(plain.stderr, /\n\s+at /);
  const json = await run(["rollback", install, "--json"], env);
  const line = JSON.parse(json.stdout.trim().split("\n").at(-1)!) as { type: string; code: string };
  assert.deepEqual([line.type, line.code], ["error", "E_INTERNAL"]);

  const debug = await run(["rollback", install], { ...env, FERRY_DEBUG: "1" });
  assert.equal(debug.code, 1);
  assert.match(debug.stderr, /^ferry: internal error: TypeError: a bug/);
  assert.match(debug.stderr, /\n\s+at /, "the stack with FERRY_DEBUG");
});
