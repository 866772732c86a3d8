/**
 * Per-command options, help and suggestions, for EVERY command of the registry (a new command is covered
 * by being registered): its own --help and `ferry help <command>`, a flag it does not take is a usage
 * error naming the flag and the command, typos suggest the nearest flag or command, --version works,
 * quotes in messages stay JSON-quoted, and usage errors leave nothing in a directory they name.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { createServer } from "node:net";
import {
  type Command,
  editDistance,
  formatHelp,
  isRaw,
  nearest,
  optionsOf,
  parseCommand,
} from "../../src/cli/command.js";
import { COMMANDS } from "../../src/cli/commands/index.js";
import { isFerryError } from "../../src/core/errors.js";
import { ferry } from "../helpers/cli.js";
import { keys, tempDir } from "../helpers/helpers.js";

const parsed = COMMANDS.filter((c): c is Command => !isRaw(c));
const allFlags = [...new Set(parsed.flatMap((c) => Object.keys(c.options)))];

/** Runs `jobs` two at a time (two shared cores). */
async function pool<T>(jobs: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]!();
    }
  };
  await Promise.all([worker(), worker()]);
  return results;
}

test("the registry has every command once, each with a summary, usage, example and described options", () => {
  const names = COMMANDS.map((c) => c.name);
  assert.equal(new Set(names).size, names.length);
  for (const name of ["keygen", "publish", "update", "check", "status", "mount", "cocos-manifest", "rollout"])
    assert.ok(names.includes(name), name);
  for (const c of parsed) {
    assert.ok(c.summary.length > 0 && !c.summary.includes("\n"), `${c.name}: one-line summary`);
    assert.ok(c.usage.length > 0 && c.examples.length > 0, `${c.name}: usage and example`);
    for (const e of c.examples) assert.ok(e.startsWith(`${c.name}`), `${c.name}: example ${e}`);
    for (const [flag, o] of Object.entries(c.options))
      assert.ok(
        o.description.length > 0 && !o.description.includes("\n"),
        `${c.name} --${flag}: description`,
      );
  }
});

test("each command's --help and 'ferry help <command>' print its own help (usage, arguments, options, example)", async () => {
  const runs = await pool(
    COMMANDS.flatMap((c) => [
      () => ferry(c.name, "--help"),
      () => ferry("help", c.name),
      () => ferry(c.name, "-h"),
    ]),
  );
  COMMANDS.forEach((c, i) => {
    const [help, viaHelp, short] = [runs[3 * i]!, runs[3 * i + 1]!, runs[3 * i + 2]!];
    for (const r of [help, viaHelp, short]) {
      assert.equal(r.code, 0, `${c.name}: ${r.stderr}`);
      assert.equal(r.stdout, formatHelp(c), `${c.name}: its own help`);
    }
    if (isRaw(c)) return;
    assert.ok(help.stdout.startsWith(`ferry ${c.name} — ${c.summary}\n`), c.name);
    assert.match(help.stdout, new RegExp(`\nUsage:\n  ferry ${c.name}`));
    assert.match(help.stdout, /\nOptions:\n/);
    assert.match(help.stdout, /\nExamples?:\n {2}ferry /);
    for (const flag of Object.keys(optionsOf(c)))
      assert.match(help.stdout, new RegExp(`--${flag}\\b`), `${c.name}: --${flag} in its help`);
    for (const flag of allFlags.filter((f) => !(f in c.options)))
      assert.doesNotMatch(
        help.stdout,
        new RegExp(`^  (-\\w, )?--${flag}\\b`, "m"),
        `${c.name}: no --${flag} in its options`,
      );
  });
});

test("a flag a command does not take is a usage error (exit 2) naming the flag and the command", async () => {
  const foreign = (c: Command) => allFlags.find((f) => !(f in c.options))!;
  const runs = await pool(
    parsed.flatMap((c) => [
      () => ferry(c.name, `--${foreign(c)}`, "x"),
      () => ferry(c.name, "--no-such-flag"),
    ]),
  );
  parsed.forEach((c, i) => {
    for (const [r, flag] of [
      [runs[2 * i]!, `--${foreign(c)}`],
      [runs[2 * i + 1]!, "--no-such-flag"],
    ] as const) {
      assert.equal(r.code, 2, `${c.name} ${flag}: ${r.stderr}`);
      assert.equal(r.stdout, "");
      assert.ok(r.stderr.startsWith("ferry: E_USAGE: "), r.stderr);
      assert.ok(r.stderr.includes(JSON.stringify(flag)), `${c.name}: names ${flag}: ${r.stderr}`);
      assert.ok(r.stderr.includes(`'ferry ${c.name}'`), `${c.name}: names the command: ${r.stderr}`);
      assert.equal(r.stderr.trim().split("\n").length, 1, "one line");
    }
  });
});

test("the issue's example: keygen refuses --trust, --quality and --rollout", async (t) => {
  const dir = await tempDir(t);
  const r = await ferry("keygen", join(dir, "keys"), "--trust", "x", "--quality", "99", "--rollout", "5");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Unknown option "--trust" for 'ferry keygen'/);
  assert.equal(existsSync(join(dir, "keys")), false, "nothing written");
});

test("a typo of a command's option suggests it, for every option of every command", () => {
  for (const c of parsed)
    for (const flag of Object.keys(c.options)) {
      if (flag.length < 4) continue;
      // Drop one letter in the middle: "--chanel" for "--channel".
      const typo = `--${flag.slice(0, 2)}${flag.slice(3)}`;
      if (typo.slice(2) in c.options) continue;
      const value = c.options[flag]!.type === "string" ? ["v"] : [];
      assert.throws(
        () => parseCommand(c, [typo, ...value]),
        (e: unknown) =>
          isFerryError(e, "E_USAGE") &&
          e.message.includes(JSON.stringify(typo)) &&
          nearest(
            typo,
            Object.keys(optionsOf(c)).map((f) => `--${f}`),
          ) !== undefined &&
          e.message.includes(`Did you mean --`),
        `${c.name} ${typo}`,
      );
    }
});

test("suggestions: --chanel -> --channel, updte -> update; no suggestion for something far", async () => {
  const chanel = await ferry("update", "http://127.0.0.1:1/", "game", "--chanel", "beta");
  assert.equal(chanel.code, 2);
  assert.match(chanel.stderr, /Unknown option "--chanel" for 'ferry update'\. Did you mean --channel\?/);
  const updte = await ferry("updte");
  assert.equal(updte.code, 2);
  assert.match(updte.stderr, /Unknown command "updte"\. Did you mean "update"\?/);
  const far = await ferry("frobnicate");
  assert.equal(far.code, 2);
  assert.doesNotMatch(far.stderr, /Did you mean/);
  const helpTypo = await ferry("help", "publsh");
  assert.equal(helpTypo.code, 2);
  assert.match(helpTypo.stderr, /Did you mean "publish"\?/);
  assert.equal(editDistance("chanel", "channel"), 1);
  assert.equal(editDistance("updte", "update"), 1);
  assert.equal(editDistance("ab", "ba"), 1, "a swap is one edit");
});

test("ferry --help lists every command on one line; --version and -V print package.json's version", async () => {
  const help = await ferry("--help");
  assert.equal(help.code, 0);
  for (const c of COMMANDS) {
    const line = help.stdout.split("\n").find((l) => l.startsWith(`  ferry ${c.name} `));
    assert.ok(line?.endsWith(c.summary), `${c.name} listed with its summary`);
  }
  assert.equal((await ferry()).stdout, help.stdout);
  const pkg = JSON.parse(
    readFileSync(join(import.meta.dirname, "..", "..", "..", "package.json"), "utf8"),
  ) as {
    version: string;
  };
  for (const flag of ["--version", "-V"]) {
    const v = await ferry(flag);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout, `${pkg.version}\n`);
  }
});

test("values in messages are JSON-quoted: quotes in them cannot break the message", async () => {
  const value = `it's "quoted"`;
  const extra = await ferry("status", "game", value);
  assert.equal(extra.code, 2);
  assert.ok(extra.stderr.includes(`Unexpected argument ${JSON.stringify(value)}`), extra.stderr);
  const option = await ferry("status", "game", `--a"b`);
  assert.ok(option.stderr.includes(JSON.stringify(`--a"b`)), option.stderr);
  const command = await ferry(`up"date`);
  assert.ok(command.stderr.includes(JSON.stringify(`up"date`)), command.stderr);
  const json = await ferry("verify", "game", value, "--json");
  const line = JSON.parse(json.stdout) as { code: string; message: string };
  assert.equal(line.code, "E_USAGE");
  assert.ok(line.message.includes(JSON.stringify(value)));
});

test("a usage error leaves nothing in the install directory it names", async (t) => {
  const dir = await tempDir(t);
  const trust = keys().publicText.trim();
  const url = "http://127.0.0.1:1/";
  const cases: string[][] = [
    ["update", url, "@", "--trust", trust, "--verify", "some"],
    ["update", url, "@", "--trust", trust, "--packages", ","],
    ["update", url, "@", "--trust", trust, "--wait-lock", "soon"],
    ["update", url, "@", "--trust", trust, "--channel", `a"b`],
    ["update", url, "@", "--trust", trust, "--runtime", "bad runtime!"],
    ["update", url, "@", "--trust", trust, "--deadline", "-1"],
    ["update", url, "@", "--trust", trust, "--mirror", ","],
    ["update", url, "@"],
    ["check", url, "@", "--trust", trust, "--max-age", "x"],
    ["check", url, "@", "--trust", trust, "--channel", "Upper"],
    ["repair", url, "@", "--trust", trust, "--max-attempts", "0"],
    ["ui", url, "@", "--trust", trust, "--port", "70000"],
    ["ui", url, "@", "--trust", trust, "--simulate", "maybe"],
    ["packages", "add", "@", "hd", "--trust", trust, "--wait-lock", "x"],
    ["packages", "add", "@", "--trust", trust],
    ["mount", "add", "@", "dlc", "dlc.zip", "--priority", "high", "--runtime", "1"],
    ["open", "@", "--max-launches", "many"],
  ];
  const results = await pool(
    cases.map((args, i) => () => ferry(...args.map((a) => (a === "@" ? join(dir, `install-${i}`) : a)))),
  );
  results.forEach((r, i) => {
    assert.equal(r.code, 2, `${cases[i]!.join(" ")}: ${r.stderr}`);
    assert.equal(existsSync(join(dir, `install-${i}`)), false, `${cases[i]!.join(" ")} left a directory`);
  });
});

test("'ferry ui --port N' and 'ferry serve --port N' with the port in use: one line with a code and advice, exit 1", async (t) => {
  const dir = await tempDir(t);
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  const port = String((blocker.address() as { port: number }).port);
  const ui = await ferry(
    "ui",
    "http://127.0.0.1:1/",
    join(dir, "game"),
    "--trust",
    keys().publicText.trim(),
    "--port",
    port,
  );
  const serve = await ferry("serve", dir, "--port", port);
  for (const r of [ui, serve]) {
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr.trim().split("\n").length, 1, `one line: ${r.stderr}`);
    assert.match(
      r.stderr,
      new RegExp(
        `^ferry: E_NETWORK: Cannot serve .*127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\): port ${port} is already in use.*--port 0`,
      ),
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});
