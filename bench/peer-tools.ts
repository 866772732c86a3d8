/**
 * The peers of the peer benchmark: installs the command-line tools when missing (apt-get), reports their
 * versions, and measures what each would download for v1 -> v2. File-based peers (file-level, zstd,
 * xdelta3) count payload bytes (the patches and whole files a client would fetch, one GET each, no
 * metadata); HTTP peers (zsync, casync) are run for real against a loopback server and counted there.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, type Dirent } from "node:fs";
import { copyFile, mkdir, readdir, rm, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import { Writable } from "node:stream";
import { createBrotliCompress, constants as zlibConstants } from "node:zlib";
import type { CountingServer } from "./counting-server.js";

export interface PeerResult {
  readonly bytes: number;
  readonly requests: number;
  readonly seconds: number;
  readonly note?: string;
}

/** A peer that could not run: the reason is printed in place of numbers. */
export interface PeerNa {
  readonly na: string;
}

export type PeerOutcome = PeerResult | PeerNa;

// -------------------------------------------------------------------------------------------------------
// Processes and tools

export function run(cmd: string, args: readonly string[], cwd?: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0)
    throw new Error(
      `${cmd} ${args.join(" ")} exited ${r.status ?? r.signal}: ${(r.stderr || r.stdout).trim().slice(-600)}`,
    );
  return `${r.stdout}${r.stderr}`;
}

/** As run(), without blocking the event loop: needed when the loopback server lives in this process. */
export function runAsync(
  cmd: string,
  args: readonly string[],
  cwd?: string,
  timeoutMs = 120_000,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd,
      stdio: ["ignore", "ignore", "pipe"],
      timeout: timeoutMs,
      killSignal: "SIGKILL",
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr = (stderr + d).slice(-2000);
    });
    child.on("error", reject);
    child.on("close", (code, signal) =>
      code === 0
        ? resolve()
        : reject(
            new Error(
              signal === "SIGKILL"
                ? `${cmd} did not finish within ${timeoutMs / 1000} s (killed): ${stderr.trim().slice(-200)}`
                : `${cmd} exited ${code ?? signal}: ${stderr.trim().slice(-600)}`,
            ),
          ),
    );
  });
}

function has(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

const PACKAGES: Readonly<Record<string, string>> = {
  zstd: "zstd",
  xdelta3: "xdelta3",
  zsync: "zsync",
  zsyncmake: "zsync",
  casync: "casync",
  gcc: "gcc",
};

/** Installs the missing tools with apt-get (sudo when not root); returns the reason per tool still missing. */
export function ensureTools(log: (line: string) => void): Map<string, string> {
  const missing = Object.keys(PACKAGES).filter((cmd) => !has(cmd));
  const problems = new Map<string, string>();
  if (missing.length === 0) return problems;
  const pkgs = [...new Set(missing.map((cmd) => PACKAGES[cmd] ?? cmd))];
  const root = process.getuid?.() === 0;
  const prefix = root ? [] : ["sudo", "-n"];
  log(`installing ${pkgs.join(" ")} with apt-get${root ? "" : " (sudo)"}`);
  const apt = (args: string[]): string | null => {
    const [cmd = "apt-get", ...rest] = [...prefix, "apt-get", ...args];
    const r = spawnSync(cmd, rest, {
      encoding: "utf8",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    return r.status === 0
      ? null
      : `${cmd} ${rest.join(" ")}: ${(r.error?.message ?? r.stderr).trim().slice(-300)}`;
  };
  const failure =
    apt(["install", "-y", "-q", ...pkgs]) === null
      ? null
      : (apt(["update", "-q"]) ?? apt(["install", "-y", "-q", ...pkgs]));
  for (const cmd of missing)
    if (!has(cmd)) problems.set(cmd, failure ?? "not installed after apt-get install");
  return problems;
}

export function toolVersions(): Record<string, string> {
  const first = (cmd: string, args: string[]): string => {
    if (!has(cmd)) return "absent";
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    return `${r.stdout}${r.stderr}`.trim().split("\n")[0]?.trim() ?? "?";
  };
  return {
    zstd: first("zstd", ["--version"]),
    xdelta3: first("xdelta3", ["-V"]),
    zsync: first("zsync", ["-V"]),
    casync: first("casync", ["--version"]),
    gcc: first("gcc", ["--version"]),
    tar: first("tar", ["--version"]),
  };
}

// -------------------------------------------------------------------------------------------------------
// Trees

export async function listTree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries: Dirent[] = await readdir(dir, { withFileTypes: true });
    for (const entry of entries) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) out.push(relative(root, full).split(sep).join("/"));
    }
  };
  await walk(root);
  return out.sort();
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const block of createReadStream(path, { highWaterMark: 1024 * 1024 }))
    hash.update(block as Buffer);
  return hash.digest("hex");
}

export interface TreeDiff {
  /** In both trees with different bytes. */
  readonly changed: readonly string[];
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** v2 size of changed + added files. */
  readonly changedBytes: number;
  readonly v1Bytes: number;
  readonly v2Bytes: number;
  readonly v1Files: number;
  readonly v2Files: number;
  /** sha256 of every v2 file, to check what a peer rebuilt. */
  readonly v2Hashes: ReadonlyMap<string, string>;
}

export async function diffTrees(v1: string, v2: string): Promise<TreeDiff> {
  const hashes1 = new Map<string, string>();
  const hashes2 = new Map<string, string>();
  let v1Bytes = 0;
  let v2Bytes = 0;
  for (const p of await listTree(v1)) {
    hashes1.set(p, await sha256File(join(v1, p)));
    v1Bytes += (await stat(join(v1, p))).size;
  }
  for (const p of await listTree(v2)) {
    hashes2.set(p, await sha256File(join(v2, p)));
    v2Bytes += (await stat(join(v2, p))).size;
  }
  const changed: string[] = [];
  const added: string[] = [];
  let changedBytes = 0;
  for (const [p, h] of hashes2) {
    const old = hashes1.get(p);
    if (old === h) continue;
    (old === undefined ? added : changed).push(p);
    changedBytes += (await stat(join(v2, p))).size;
  }
  const removed = [...hashes1.keys()].filter((p) => !hashes2.has(p));
  return {
    changed,
    added,
    removed,
    changedBytes,
    v1Bytes,
    v2Bytes,
    v1Files: hashes1.size,
    v2Files: hashes2.size,
    v2Hashes: hashes2,
  };
}

/** Throws unless `dir` holds exactly the v2 files (paths under `ignore` excluded). */
export async function checkTree(dir: string, diff: TreeDiff, ignore = ".ferry"): Promise<void> {
  const paths = (await listTree(dir)).filter((p) => p !== ignore && !p.startsWith(`${ignore}/`));
  if (paths.length !== diff.v2Hashes.size)
    throw new Error(`${dir}: ${paths.length} files, expected ${diff.v2Hashes.size}`);
  for (const p of paths) {
    if ((await sha256File(join(dir, p))) !== diff.v2Hashes.get(p))
      throw new Error(`${dir}: ${p} differs from v2`);
  }
}

// -------------------------------------------------------------------------------------------------------
// Peers

async function brotliSize(path: string): Promise<number> {
  const size = (await stat(path)).size;
  let out = 0;
  const sink = new Writable({
    write(chunk: Buffer, _e, done) {
      out += chunk.length;
      done();
    },
  });
  const params = {
    [zlibConstants.BROTLI_PARAM_QUALITY]: 11,
    [zlibConstants.BROTLI_PARAM_LGWIN]: 24,
    [zlibConstants.BROTLI_PARAM_SIZE_HINT]: Math.min(size, 2 ** 31 - 1),
  };
  await pipeline(createReadStream(path), createBrotliCompress({ params }), sink);
  return out;
}

const timed = async (fn: () => Promise<Omit<PeerResult, "seconds">>): Promise<PeerResult> => {
  const start = performance.now();
  const r = await fn();
  return { ...r, seconds: (performance.now() - start) / 1000 };
};

/** Changed and added files, each compressed whole with Brotli 11 (window 16 MiB). */
export async function fileLevel(
  v2: string,
  diff: TreeDiff,
): Promise<PeerResult & { readonly perFile: ReadonlyMap<string, number> }> {
  const perFile = new Map<string, number>();
  const r = await timed(async () => {
    let bytes = 0;
    for (const p of [...diff.changed, ...diff.added]) {
      const size = await brotliSize(join(v2, p));
      perFile.set(p, size);
      bytes += size;
    }
    return { bytes, requests: diff.changed.length + diff.added.length };
  });
  return { ...r, perFile };
}

/** Changed files as one patch each from a command; added files as in file-level. */
async function perFilePatches(
  v1: string,
  v2: string,
  diff: TreeDiff,
  whole: ReadonlyMap<string, number>,
  scratch: string,
  patch: (oldPath: string, newPath: string, out: string) => void,
): Promise<PeerResult> {
  return timed(async () => {
    await mkdir(scratch, { recursive: true });
    let bytes = 0;
    for (const p of diff.changed) {
      const out = join(scratch, "patch");
      patch(join(v1, p), join(v2, p), out);
      bytes += (await stat(out)).size;
      await rm(out);
    }
    for (const p of diff.added) bytes += whole.get(p) ?? 0;
    return { bytes, requests: diff.changed.length + diff.added.length };
  });
}

const log2ceil = (n: number): number => Math.max(10, Math.ceil(Math.log2(Math.max(2, n))));

export function zstdPerFile(
  v1: string,
  v2: string,
  diff: TreeDiff,
  whole: ReadonlyMap<string, number>,
  scratch: string,
): Promise<PeerResult> {
  return perFilePatches(v1, v2, diff, whole, scratch, (oldPath, newPath, out) =>
    run("zstd", ["-q", "-f", "-19", "--long=27", `--patch-from=${oldPath}`, newPath, "-o", out]),
  );
}

export function xdelta3PerFile(
  v1: string,
  v2: string,
  diff: TreeDiff,
  whole: ReadonlyMap<string, number>,
  scratch: string,
): Promise<PeerResult> {
  return perFilePatches(v1, v2, diff, whole, scratch, (oldPath, newPath, out) => {
    // -B: source window covering the whole old file (default 64 MiB would miss far matches).
    const window = Math.min(2 ** 31, Math.max(64 * 1024 * 1024, 2 ** log2ceil(diff.v1Bytes)));
    run("xdelta3", ["-9", "-e", "-f", "-B", String(window), "-s", oldPath, newPath, out]);
  });
}

/** Reproducible tar of a tree: sorted names, fixed owner and mtime. */
function tarTree(dir: string, out: string): void {
  run("tar", [
    "--sort=name",
    "--mtime=@0",
    "--owner=0",
    "--group=0",
    "--numeric-owner",
    "-cf",
    out,
    "-C",
    dir,
    ".",
  ]);
}

export async function zstdTar(v1: string, v2: string, scratch: string): Promise<PeerResult> {
  return timed(async () => {
    await mkdir(scratch, { recursive: true });
    const [t1, t2, out] = [join(scratch, "v1.tar"), join(scratch, "v2.tar"), join(scratch, "v2.tar.zst")];
    tarTree(v1, t1);
    tarTree(v2, t2);
    // --long=27 as asked, raised to cover the old tar when it is larger (patch-from needs the window).
    const windowLog = Math.max(27, Math.min(31, log2ceil((await stat(t1)).size)));
    run("zstd", ["-q", "-f", "-19", `--long=${windowLog}`, `--patch-from=${t1}`, t2, "-o", out]);
    const bytes = (await stat(out)).size;
    await rm(scratch, { recursive: true, force: true });
    return { bytes, requests: 1, note: `--long=${windowLog}` };
  });
}

/** zsyncmake each changed/added v2 file into the served dir; zsync it with the v1 file as seed. */
export async function zsyncPeer(
  v1: string,
  v2: string,
  diff: TreeDiff,
  server: CountingServer,
  serveDir: string,
  scratch: string,
): Promise<PeerResult> {
  const prefix = `zsync-${Date.now()}`;
  const served = join(serveDir, prefix);
  await mkdir(served, { recursive: true });
  await mkdir(scratch, { recursive: true });
  const names = [...diff.changed, ...diff.added];
  for (const [i, p] of names.entries()) {
    await copyFile(join(v2, p), join(served, `f${i}`));
    run("zsyncmake", ["-o", join(served, `f${i}.zsync`), "-u", `f${i}`, join(served, `f${i}`)], served);
  }
  server.take();
  const r = await timed(async () => {
    for (const [i, p] of names.entries()) {
      const out = join(scratch, `out${i}`);
      const seed = diff.changed.includes(p) ? ["-i", join(v1, p)] : [];
      await runAsync(
        "zsync",
        ["-q", ...seed, "-o", out, `${server.url}${prefix}/f${i}.zsync`],
        scratch,
        30_000,
      );
      if ((await sha256File(out)) !== diff.v2Hashes.get(p)) throw new Error(`zsync rebuilt ${p} wrong`);
      await rm(out, { force: true });
    }
    const counts = server.take();
    return { bytes: counts.bytes, requests: counts.requests };
  });
  await rm(served, { recursive: true, force: true });
  await rm(scratch, { recursive: true, force: true });
  return r;
}

/** casync make of the v2 tree into a served chunk store; casync extract over HTTP seeded with v1. */
export async function casyncPeer(
  v1: string,
  v2: string,
  diff: TreeDiff,
  server: CountingServer,
  serveDir: string,
  scratch: string,
): Promise<PeerResult> {
  const prefix = `casync-${Date.now()}`;
  const served = join(serveDir, prefix);
  await mkdir(served, { recursive: true });
  await mkdir(scratch, { recursive: true });
  run("casync", ["make", `--store=${join(served, "store.castr")}`, join(served, "v2.caidx"), v2]);
  server.take();
  const out = join(scratch, "out");
  const r = await timed(async () => {
    await runAsync("casync", [
      "extract",
      `--store=${server.url}${prefix}/store.castr`,
      `--seed=${v1}`,
      `${server.url}${prefix}/v2.caidx`,
      out,
    ]);
    const counts = server.take();
    return { bytes: counts.bytes, requests: counts.requests };
  });
  await checkTree(out, diff);
  await rm(served, { recursive: true, force: true });
  await rm(scratch, { recursive: true, force: true });
  return r;
}
