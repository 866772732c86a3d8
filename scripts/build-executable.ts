/**
 * Builds the standalone `ferry` executable (docs/ENGINES.md "The standalone executable"): players have no
 * Node, so the CLI is shipped as one file with Node's single executable applications (SEA).
 *
 *   1. esbuild bundles dist/src/cli/main.js (the tsc output: run `npm run build` first) and everything it
 *      imports into one CommonJS script, which is what a Node 20 SEA runs;
 *   2. `node --experimental-sea-config` turns it into a preparation blob;
 *   3. a copy of this Node binary gets the blob injected with postject (the injector the Node docs name).
 *
 * Usage: `npm run build:exe` (builds, then `node dist/scripts/build-executable.js [--out <dir>]`); the
 * executable is dist/exe/ferry (ferry.exe on Windows). Only linux-x64 is built and tested here.
 */
import { execFile } from "node:child_process";
import { chmod, copyFile, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { parseArgs, promisify } from "node:util";
import { build, type Plugin } from "esbuild";

const exec = promisify(execFile);

/** The fuse Node's SEA loader looks for (Node docs, "Single executable applications"). */
const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

/** Packages the library imports lazily and that the executable does not contain. */
const OPTIONAL_PACKAGES = ["@aws-sdk/client-s3"];

export interface BuildExecutableOptions {
  /** Repository root (default: two folders above this compiled script, i.e. the checkout). */
  readonly root?: string;
  /** Output folder (default <root>/dist/exe). */
  readonly outDir?: string;
  /** Strip the copied Node binary's symbols first (Linux, when `strip` is on PATH; default true): ~12 MB less. */
  readonly strip?: boolean;
}

export interface BuildExecutableResult {
  readonly executable: string;
  readonly bundle: string;
  readonly executableBytes: number;
  readonly bundleBytes: number;
  readonly nodeVersion: string;
  readonly stripped: boolean;
  readonly durationMs: number;
}

/**
 * The optional AWS SDK stays optional: instead of bundling it (tens of MB) or leaving a `require` that a
 * SEA cannot satisfy (its `require` loads built-in modules only), its import resolves to a module that
 * throws an error marked for loadS3Sdk, which turns it into E_MISSING_DEPENDENCY naming the way out.
 */
const optionalPackagesPlugin: Plugin = {
  name: "ferry-optional-packages",
  setup(b) {
    const filter = new RegExp(`^(${OPTIONAL_PACKAGES.map((p) => p.replace(/[/.-]/g, "\\$&")).join("|")})$`);
    b.onResolve({ filter }, (args) => ({ path: args.path, namespace: "ferry-absent" }));
    b.onLoad({ filter: /.*/, namespace: "ferry-absent" }, (args) => ({
      contents:
        `const error = new Error(${JSON.stringify(`${args.path} is not part of the standalone ferry executable`)});\n` +
        `error.code = "ERR_FERRY_STANDALONE";\nthrow error;\n`,
      loader: "js",
    }));
  },
};

export async function buildExecutable(options: BuildExecutableOptions = {}): Promise<BuildExecutableResult> {
  const started = performance.now();
  const root = resolve(options.root ?? join(import.meta.dirname, "..", ".."));
  const outDir = resolve(options.outDir ?? join(root, "dist", "exe"));
  const entry = join(root, "dist", "src", "cli", "main.js");
  await stat(entry).catch((cause: unknown) => {
    throw new Error(`${entry} is missing: run 'npm run build' before building the executable.`, { cause });
  });
  const [major] = process.versions.node.split(".").map(Number);
  if (major === undefined || major < 20)
    throw new Error(`Building a single executable needs Node >= 20 (this is ${process.version}).`);

  await mkdir(outDir, { recursive: true });
  const bundle = join(outDir, "ferry.cjs");
  const blob = join(outDir, "ferry.blob");
  const config = join(outDir, "sea-config.json");
  const executable = join(outDir, process.platform === "win32" ? "ferry.exe" : "ferry");
  const pkg = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as { version: string };

  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    format: "cjs",
    target: `node${major}`,
    outfile: bundle,
    plugins: [optionalPackagesPlugin],
    // CommonJS has no import.meta: `import.meta.url` becomes the executable's own file URL (a path next to
    // the executable), and any other import.meta use fails the build instead of being empty at run time.
    banner: { js: `var __ferry_import_meta_url = require("node:url").pathToFileURL(process.execPath).href;` },
    define: {
      "import.meta.url": "__ferry_import_meta_url",
      // src/cli/version.ts: there is no package.json beside the executable.
      FERRY_BUNDLED_VERSION: JSON.stringify(pkg.version),
    },
    logOverride: { "empty-import-meta": "error" },
    legalComments: "none",
    logLevel: "silent",
    metafile: false,
  });
  if (result.warnings.length > 0)
    throw new Error(`esbuild warned: ${result.warnings.map((w) => w.text).join("; ")}`);

  await writeFile(
    config,
    // useCodeCache: V8's compile cache for the script is stored in the blob (measured: faster start).
    `${JSON.stringify({ main: bundle, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true }, null, 2)}\n`,
  );
  await exec(process.execPath, ["--experimental-sea-config", config]);
  await rm(executable, { force: true });
  await copyFile(process.execPath, executable);
  await chmod(executable, 0o755);
  // Node's Linux binaries may carry debug symbols; stripping them does not change what runs.
  const stripped =
    process.platform === "linux" &&
    options.strip !== false &&
    (await exec("strip", ["--strip-all", executable]).then(
      () => true,
      (error: unknown) => {
        if ((error as { code?: unknown }).code === "ENOENT") return false; // no binutils: ship it unstripped
        throw error;
      },
    ));
  const postject = createRequire(import.meta.url).resolve("postject/dist/cli.js");
  await exec(process.execPath, [
    postject,
    executable,
    "NODE_SEA_BLOB",
    blob,
    "--sentinel-fuse",
    SEA_FUSE,
    ...(process.platform === "darwin" ? ["--macho-segment-name", "NODE_SEA"] : []),
  ]);
  await rm(blob, { force: true });
  return {
    executable,
    bundle,
    executableBytes: (await stat(executable)).size,
    bundleBytes: (await stat(bundle)).size,
    nodeVersion: process.version,
    stripped,
    durationMs: performance.now() - started,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { out: { type: "string" }, "no-strip": { type: "boolean" } },
    strict: true,
  });
  const built = await buildExecutable({
    ...(values.out === undefined ? {} : { outDir: values.out }),
    ...(values["no-strip"] ? { strip: false } : {}),
  });
  process.stdout.write(
    `Built ${built.executable}: ${built.executableBytes} bytes (Node ${built.nodeVersion}${built.stripped ? ", stripped" : ""}, + ${built.bundleBytes} bytes of bundled CLI) in ${(built.durationMs / 1000).toFixed(1)} s.\n`,
  );
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === import.meta.filename) {
  main().catch((error: unknown) => {
    process.stderr.write(`build-executable: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
