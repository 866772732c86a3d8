/**
 * What users get: `npm pack` the package (prepack builds it), check the file list, install the tarball
 * into an empty project offline, and use it as a user would: the `ferry` bin, every export subpath, the
 * type declarations, and the S3 path without the optional AWS SDK.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";

const exec = promisify(execFile);
const root = join(import.meta.dirname, "..", "..", "..");
const windows = process.platform === "win32";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(command: string, args: string[], cwd: string): Promise<Run> {
  try {
    const { stdout, stderr } = await exec(command, args, {
      cwd,
      shell: windows,
      timeout: 120_000,
      maxBuffer: 64 * 1024 * 1024,
      // No npm settings of an enclosing `npm test` (dry-run, prefix, ...) reach the child.
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k))),
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : 1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

/** Each subpath with one name it must export (a value, so a broken re-export shows). */
const SUBPATHS: Record<string, string> = {
  ferry: "update",
  "ferry/client": "update",
  "ferry/node": "NodeFileSystem",
  "ferry/publisher": "publish",
  "ferry/server": "serveRepository",
  "ferry/core": "parseManifest",
};

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

test("npm pack ships the build, types, docs and LICENSE only; the tarball installs offline and works", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "ferry-pack-"));
  t.after(() => rm(dir, { recursive: true, force: true }));

  const packed = await run("npm", ["pack", "--json", "--pack-destination", dir], root);
  assert.equal(packed.code, 0, `npm pack failed:\n${packed.stderr}`);
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as {
    filename: string;
    size: number;
    entryCount: number;
    files: { path: string }[];
  }[];
  assert.ok(info);
  const files = info.files.map((f) => f.path);
  t.diagnostic(`tarball ${info.filename}: ${info.size} bytes, ${info.entryCount} files`);

  const unwanted = files.filter(
    (f) =>
      /(^|\/)testing\//.test(f) ||
      /^(test|bench|scripts|src|tools|dist\/(src|test|bench|scripts))\//.test(f) ||
      f.endsWith(".map") ||
      (f.endsWith(".ts") && !f.endsWith(".d.ts")),
  );
  assert.deepEqual(unwanted, [], "test code, sources and source maps stay out of the package");
  for (const needed of [
    "LICENSE",
    "README.md",
    "package.json",
    "docs/FORMAT.md",
    "dist/lib/cli/main.js",
    "dist/web/ferry-web.js",
    "dist/web/ferry-sw.js",
  ])
    assert.ok(files.includes(needed), `${needed} is shipped`);
  for (const entry of [
    "index",
    "entries/client",
    "entries/node",
    "entries/publisher",
    "entries/server",
    "entries/core",
  ]) {
    assert.ok(files.includes(`dist/lib/${entry}.js`), `${entry}.js is shipped`);
    assert.ok(files.includes(`dist/lib/${entry}.d.ts`), `${entry}.d.ts is shipped`);
  }

  const app = join(dir, "app");
  await mkdir(app);
  await writeFile(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  const started = Date.now();
  const installed = await run(
    "npm",
    ["install", "--offline", "--no-audit", "--no-fund", join(dir, info.filename)],
    app,
  );
  if (installed.code !== 0 && /ENOTCACHED/.test(installed.stderr)) {
    t.skip(
      `the npm cache lacks a runtime dependency of the package, so an offline install cannot run:\n${installed.stderr}`,
    );
    return;
  }
  assert.equal(installed.code, 0, `npm install of the tarball failed:\n${installed.stderr}`);
  t.diagnostic(`npm install of the tarball: ${Date.now() - started} ms`);

  const pkgDir = join(app, "node_modules", "ferry");
  const manifest = JSON.parse(await readFile(join(pkgDir, "package.json"), "utf8")) as {
    scripts?: Record<string, string>;
  };
  for (const hook of ["preinstall", "install", "postinstall", "prepare"])
    assert.equal(
      manifest.scripts?.[hook],
      undefined,
      `installing runs no ${hook} script (no tsc on the user's machine)`,
    );
  await assert.rejects(
    readdir(join(app, "node_modules", "@aws-sdk")),
    "the optional AWS SDK is not installed",
  );
  for (const file of await filesUnder(join(pkgDir, "dist"))) {
    if (!file.endsWith(".js")) continue;
    const text = await readFile(file, "utf8");
    assert.doesNotMatch(text, /["']\.{1,2}\/(\.\.\/)*testing\//, `${file} imports no test code`);
    assert.doesNotMatch(text, /FERRY_TEST_/, `${file} reads no test switches`);
  }

  const help = await run("npx", ["--offline", "ferry", "--help"], app);
  assert.equal(help.code, 0, `npx ferry --help failed:\n${help.stderr}`);
  assert.match(help.stdout, /Usage:\n\s+ferry keygen/);

  for (const [subpath, name] of Object.entries(SUBPATHS)) {
    const loaded = await run(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const m = await import(${JSON.stringify(subpath)}); console.log(typeof m[${JSON.stringify(name)}]);`,
      ],
      app,
    );
    assert.equal(loaded.code, 0, `import("${subpath}") failed:\n${loaded.stderr}`);
    assert.equal(loaded.stdout.trim(), "function", `${subpath} exports ${name}`);
  }
  // Under Node, ferry/client comes with the Node adapters registered ("node" condition): an operation
  // called without deps reads the real disk (no install here: E_NOT_INSTALLED, not E_USAGE).
  const nodeClient = await run(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `const { status } = await import("ferry/client");
       await status({ installDir: process.cwd() }).then(() => console.log("installed"), (e) => console.log(e.code));`,
    ],
    app,
  );
  assert.equal(nodeClient.code, 0, nodeClient.stderr);
  assert.equal(nodeClient.stdout.trim(), "E_NOT_INSTALLED");
  const json = await run(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `import { createRequire } from "node:module"; console.log(createRequire(import.meta.url)("ferry/package.json").name);`,
    ],
    app,
  );
  assert.equal(json.stdout.trim(), "ferry", json.stderr);

  // The publisher loads without the SDK; opening an s3:// store says how to add it.
  const s3 = await run(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `import { openStore } from "ferry/publisher";
       await openStore("s3://games/stable", {}, {}).then(() => console.log("opened"), (e) => console.log(e.code, e.message));`,
    ],
    app,
  );
  assert.equal(s3.code, 0, s3.stderr);
  assert.match(s3.stdout, /^E_MISSING_DEPENDENCY .*npm install @aws-sdk\/client-s3/);

  // The `types` conditions resolve: a consumer compiled with NodeNext resolution sees the declarations.
  await writeFile(
    join(app, "use.ts"),
    `import { type UpdateOptions, update } from "ferry/client";
import { NodeFileSystem } from "ferry/node";
import { type PublishOptions, publish } from "ferry/publisher";
import { serveRepository } from "ferry/server";
import { type Manifest, parseManifest } from "ferry/core";
import { FerryError } from "ferry";
export const used: unknown[] = [update, NodeFileSystem, publish, serveRepository, parseManifest, FerryError];
export type Used = [UpdateOptions, PublishOptions, Manifest];
`,
  );
  await writeFile(
    join(app, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        module: "NodeNext",
        moduleResolution: "NodeNext",
        target: "ES2022",
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        typeRoots: [join(root, "node_modules", "@types")],
        types: ["node"],
      },
      files: ["use.ts"],
    }),
  );
  const typed = await run(
    process.execPath,
    [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", app],
    app,
  );
  assert.equal(
    typed.code,
    0,
    `the declarations do not type-check for a consumer:\n${typed.stdout}${typed.stderr}`,
  );
});
