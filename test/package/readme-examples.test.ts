/**
 * Every shell example of the README and of docs/*.md runs as written, against a loopback repository.
 *
 * The convention:
 * - Each line of a ```sh block is an example; a line that starts with blanks continues the one before.
 *   A trailing `# …` is a comment, `[…]` marks optional arguments (the test runs the form without them),
 *   and `&&` joins commands.
 * - A command `npx ferry <command> …` (or `ferry <command> …`) runs the built CLI. Each block runs in order in a fresh directory
 *   that holds `build/` (a small game with `textures/a.png`) and `dlc/hd.zip`, so the README's relative
 *   paths (`keys/`, `repo/`, `build/`, `game/`, `out/`) work as written.
 * - `http://127.0.0.1:8080/` is the repository: the block's own `npx ferry serve repo/ --port 8080` when it
 *   has one (started with `--port 0` and kept running until the block ends), else a static server of the
 *   block's `repo/` that the test starts. `serve` and `ui` run until stopped: the test waits for the URL
 *   they print, requests it, stops them with SIGTERM and expects exit 0.
 * - Every command must exit 0. A block that cannot run here is marked on the line before its fence with
 *   `<!-- example: not run: <reason> -->`; any other line that is not a ferry command fails the test,
 *   and so does a `<placeholder>` in a block that is run: a new example is either runnable or marked.
 */
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { serveRepository } from "../../src/server/static-server.js";
import { buildZip } from "../../src/testing/zip-writer.js";

const ROOT = join(import.meta.dirname, "..", "..", "..");
const CLI = join(import.meta.dirname, "..", "..", "src", "cli", "main.js");
const PLACEHOLDER_URL = "http://127.0.0.1:8080/";
const NOT_RUN = /^<!--\s*example:\s*not run:\s*(.+?)\s*-->$/;

export interface Example {
  /** 1-based line of the README where the command starts. */
  readonly line: number;
  /** The command as written (continuations joined, comment kept out). */
  readonly text: string;
}

export interface Block {
  readonly line: number;
  /** Why the block is not run, when it is marked. */
  readonly notRun: string | undefined;
  readonly examples: readonly Example[];
}

/** The ```sh blocks of a Markdown text, with their commands. */
export function shellBlocks(markdown: string): Block[] {
  const lines = markdown.split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*```sh\s*$/.test(lines[i]!)) continue;
    let before = i - 1;
    while (before >= 0 && lines[before]!.trim() === "") before--;
    const notRun = before >= 0 ? NOT_RUN.exec(lines[before]!.trim())?.[1] : undefined;
    const examples: { line: number; text: string }[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j]!); j++) {
      const raw = lines[j]!;
      const code = raw.replace(/(^|\s)#(\s.*)?$/, "").trimEnd();
      if (code.trim() === "") continue;
      const last = examples[examples.length - 1];
      if (/^\s/.test(code) && last) last.text += ` ${code.trim()}`;
      else examples.push({ line: j + 1, text: code.trim() });
    }
    blocks.push({ line: i + 1, notRun, examples });
    i = j;
  }
  return blocks;
}

/** A command's arguments after `npx ferry`, optional `[…]` parts dropped; undefined when not a ferry command. */
export function ferryArgs(command: string): string[] | undefined {
  const prefix = /^(npx )?ferry /.exec(command.trim());
  if (!prefix) return undefined;
  let text = command.trim().slice(prefix[0].length);
  for (let previous = ""; previous !== text;) {
    previous = text;
    text = text.replace(/\[[^[\]]*\]/g, " ");
  }
  return text.split(/\s+/).filter((t) => t !== "");
}

/**
 * URL arguments a command would fetch from a host other than loopback (no network here): every http(s)
 * argument but the placeholder, loopback ones and the value of `--url` (cocos-manifest writes it, never
 * fetches it).
 */
export function outsideUrls(args: readonly string[]): string[] {
  return args.filter(
    (a, i) =>
      /^https?:\/\//.test(a) &&
      args[i - 1] !== "--url" &&
      !/^https?:\/\/(127\.0\.0\.1|localhost)[:/]/.test(a),
  );
}

async function writeFixture(dir: string): Promise<void> {
  const files: Record<string, Uint8Array | string> = {
    "game.js": "console.log('the game');\n",
    "textures/a.png": new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 4]),
    "levels/level-1.dat": "level one\n".repeat(200),
    "levels/level-2.dat": "level two\n".repeat(300),
  };
  for (const [path, data] of Object.entries(files)) {
    await mkdir(dirname(join(dir, "build", path)), { recursive: true });
    await writeFile(join(dir, "build", path), data);
  }
  await mkdir(join(dir, "dlc"), { recursive: true });
  const hd = new TextEncoder().encode("high-definition texture");
  await writeFile(join(dir, "dlc", "hd.zip"), buildZip([{ name: "textures/a.png", data: hd }]));
  await mkdir(join(dir, "repo"), { recursive: true });
}

interface Outcome {
  readonly code: number | null;
  readonly output: string;
}

function run(args: readonly string[], cwd: string): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd, timeout: 120_000 }, (error, stdout, stderr) => {
      const code = error ? ((error as { code?: number }).code ?? null) : 0;
      resolve({ code: typeof code === "number" ? code : null, output: `${stdout}${stderr}` });
    });
  });
}

/** A command that runs until stopped: started, its printed URL returned once it listens. */
async function start(
  args: readonly string[],
  cwd: string,
): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed within 30 s: ${output}`)), 30_000);
    child.stdout?.on("data", (d: Buffer) => {
      output += d.toString();
      const match = /http:\/\/127\.0\.0\.1:\d+\/?/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[0].endsWith("/") ? match[0] : `${match[0]}/`);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before printing its URL: ${output}`));
    });
  });
  return { child, url, output: () => output };
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.kill("SIGTERM");
  return exited;
}

/** README.md, then docs/*.md: the files whose shell blocks are checked, with their blocks. */
const documents: { file: string; blocks: Block[] }[] = [];
for (const file of [
  "README.md",
  ...(await readdir(join(ROOT, "docs")))
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => `docs/${f}`),
])
  documents.push({ file, blocks: shellBlocks(await readFile(join(ROOT, file), "utf8")) });

test("README and docs: every shell example is a runnable ferry command or its block is marked as not run", () => {
  assert.ok(documents[0]!.blocks.length >= 2, "the README has shell blocks");
  const unmarked: string[] = [];
  for (const { file, blocks } of documents) {
    for (const block of blocks) {
      if (block.notRun) continue;
      for (const example of block.examples)
        for (const part of example.text.split("&&")) {
          const args = ferryArgs(part);
          if (!args || args.some((a) => /<[^>]*>/.test(a)) || outsideUrls(args).length > 0)
            unmarked.push(`${file}:${example.line}: ${part.trim()}`);
        }
    }
  }
  assert.deepEqual(unmarked, [], "examples that are neither runnable nor marked");
});

test("README: the convention's parser", () => {
  const parsed = shellBlocks(
    [
      "<!-- example: not run: needs S3 -->",
      "```sh",
      "npx ferry publish build/ --repo s3://b/p",
      "```",
      "```sh",
      "npx ferry a x [--b 1] [--c auto|all]   # comment",
      "    [--d 2] [--e]   # more",
      "npx ferry f && npx ferry g",
      "```",
    ].join("\n"),
  );
  assert.equal(parsed.length, 2);
  assert.equal(parsed[0]!.notRun, "needs S3");
  assert.equal(parsed[1]!.notRun, undefined);
  assert.deepEqual(
    parsed[1]!.examples.map((e) => [e.line, e.text]),
    [
      [6, "npx ferry a x [--b 1] [--c auto|all] [--d 2] [--e]"],
      [8, "npx ferry f && npx ferry g"],
    ],
  );
  assert.deepEqual(ferryArgs(parsed[1]!.examples[0]!.text), ["a", "x"]);
  assert.equal(ferryArgs("npm ci"), undefined);
  assert.deepEqual(ferryArgs("ferry status game/ [--json]"), ["status", "game/"]);
  assert.deepEqual(
    outsideUrls(["update", "https://cdn.example.com/g/", "game/", "--url", "https://x.example/"]),
    ["https://cdn.example.com/g/"],
  );
  assert.deepEqual(outsideUrls(["update", "http://127.0.0.1:8080/", "game/"]), []);
});

for (const { file, block } of documents.flatMap((d) => d.blocks.map((block) => ({ file: d.file, block })))) {
  if (block.notRun || block.examples.length === 0) continue;
  test(`${file}:${block.line}: the shell block runs as written against a loopback repository`, async (t) => {
    const work = await mkdtemp(join(tmpdir(), "ferry-readme-"));
    t.after(() => rm(work, { recursive: true, force: true }));
    await writeFixture(work);
    const running: { child: ChildProcess; what: string }[] = [];
    let repoUrl: string | undefined;
    const fallback = await serveRepository({ root: join(work, "repo") });
    t.after(() => fallback.close());
    try {
      for (const example of block.examples) {
        for (const part of example.text.split("&&")) {
          const where = `${file}:${example.line}: ${part.trim()}`;
          const args = ferryArgs(part);
          assert.ok(args, `${where}: not a ferry command`);
          assert.deepEqual(
            outsideUrls(args),
            [],
            `${where}: needs a host other than loopback; mark the block`,
          );
          const mapped = args.map((a) => (a === PLACEHOLDER_URL ? (repoUrl ?? fallback.url) : a));
          const command = mapped[0];
          if (command === "serve" || command === "ui") {
            const portAt = mapped.indexOf("--port");
            if (portAt >= 0) mapped[portAt + 1] = "0";
            const started = await start(mapped, work);
            const probe = command === "serve" ? `${started.url}channels/stable.json` : started.url;
            const response = await fetch(probe);
            assert.equal(response.status, 200, `${where}: GET ${probe}`);
            await response.arrayBuffer();
            if (command === "serve") {
              repoUrl = started.url;
              running.push({ child: started.child, what: where });
            } else {
              assert.equal(
                await stop(started.child),
                0,
                `${where}: exit code after SIGTERM\n${started.output()}`,
              );
            }
            continue;
          }
          const outcome = await run(mapped, work);
          assert.equal(outcome.code, 0, `${where}\n(ran: ferry ${mapped.join(" ")})\n${outcome.output}`);
        }
      }
    } finally {
      for (const { child, what } of running) {
        const code = await stop(child);
        assert.equal(code, 0, `${what}: exit code after SIGTERM`);
      }
    }
  });
}
