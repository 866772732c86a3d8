import "../../src/register-node.js";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import test from "node:test";
import { ferry } from "../helpers/cli.js";
import { tempDir } from "../helpers/helpers.js";

test("ferry agent --help prints the agent's own usage and exits 0", async () => {
  const help = await ferry("agent", "--help");
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^ferry agent — /);
  assert.match(help.stdout, /--listen 127\.0\.0\.1:0/);
});

test("ferry agent: usage errors exit 2 with one E_USAGE line; start failures exit 1", async (t) => {
  const dir = await tempDir(t);
  const pub = join(dir, "root.pub");
  await writeFile(pub, "not a key\n");
  const usage = async (...args: string[]) => {
    const r = await ferry("agent", ...args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /^ferry: E_USAGE: .+\n$/);
    // (main.ts's handler also writes a JSON error line to stdout when the arguments hold --json)
    if (!args.includes("--json")) assert.equal(r.stdout, "");
    return r.stderr;
  };
  assert.match(
    await usage("http://127.0.0.1:1/", dir, "--trust", pub, "--json"),
    /json/,
    "the agent's table only",
  );
  assert.match(await usage("http://127.0.0.1:1/", dir, "--trust", pub, "--force"), /force/);
  await usage("http://127.0.0.1:1/");
  assert.match(await usage("http://127.0.0.1:1/", dir), /--trust/);
  assert.match(await usage("http://127.0.0.1:1/", dir, "--trust", pub, "--listen", "0.0.0.0:0"), /loopback/);
  await usage("http://127.0.0.1:1/", dir, "--trust", pub, "--check-interval", "soon");
  await usage("http://127.0.0.1:1/", dir, "extra", "--trust", pub);

  const unreadable = await ferry("agent", "http://127.0.0.1:1/", dir, "--trust", join(dir, "missing.pub"));
  assert.equal(unreadable.code, 1, unreadable.stderr);
  assert.match(unreadable.stderr, /^ferry: E_KEY: .*missing\.pub/);
  const file = join(dir, "a-file");
  await writeFile(file, "x");
  const notDir = await ferry("agent", "http://127.0.0.1:1/", file, "--trust", pub);
  assert.equal(notDir.code, 1, notDir.stderr);
  assert.match(notDir.stderr, /^ferry: E_IO: .*a-file is not a directory/);
});
