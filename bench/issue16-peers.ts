/**
 * The peers of the issue-16 benchmark (bench/issue16.ts), each measured on one pair of trees v1 -> v2:
 * what an update downloads, how long the peer's "publish" (encode, index) and "update" (decode, sync)
 * take and their peak RSS, via bench/measure.ts. Every peer rebuilds v2 and the result is checked against
 * v2's hashes, so a figure is never reported for a wrong output.
 *
 *   floor     per changed file `zstd -19 --long=27 --patch-from=old new`, added files `zstd -19 --long=27`
 *   xdelta3   per changed file `xdelta3 -9`, added files as in the floor
 *   zstd tar  whole-tree `zstd -19 --patch-from=v1.tar v2.tar`
 *   rsync     a real `rsync --daemon` on 127.0.0.1; client `rsync -az --checksum --stats` into a copy of v1
 *   zsync     per changed/added file, over the loopback HTTP server, seeded with the v1 file
 *   casync    `casync make` (timestamps off) served over loopback HTTP, `casync extract --seed=v1`
 * and the references: `tar | zstd -19 --long=27` of v2 (fresh install), `cp -a` + `sync` of v2, and
 * copy + fsync + SHA-256 of v2's changed and added files.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { copyFile, mkdir, open, rm, stat, writeFile } from "node:fs/promises";
import { createConnection, createServer } from "node:net";
import { join } from "node:path";
import type { CountingServer } from "./counting-server.js";
import { type ProcessRun, RunTotals, runMeasured } from "./measure.js";
import { checkTree, sha256File, type TreeDiff } from "./peer-tools.js";

/** One peer's figures for one pair. NaN: the peer has no such step (rsync has no publish). */
export interface PeerFigures {
  readonly bytes: number;
  readonly requests: number;
  readonly updateSeconds: number;
  readonly updateRssMiB: number;
  readonly publishSeconds: number;
  readonly publishRssMiB: number;
  readonly note?: string;
}

export interface PeerNa {
  readonly na: string;
}

export type PeerOutcome = PeerFigures | PeerNa;

export const isNa = (o: object): o is PeerNa => "na" in o;

const log2ceil = (n: number): number => Math.ceil(Math.log2(Math.max(2, n)));

async function expectHash(path: string, want: string | undefined, what: string): Promise<void> {
  const got = await sha256File(path);
  if (got !== want) throw new Error(`${what}: rebuilt ${path} does not match v2 (sha256 ${got})`);
}

/** Copies of the corpus keep its read-only modes: a real install is writable, and rm needs it too. */
async function makeWritable(dir: string): Promise<void> {
  await runMeasured("chmod", ["-R", "u+w", dir]);
}

// -------------------------------------------------------------------------------------------------------
// Per-file patch peers

/** Added files compressed whole (`zstd -19 --long=27`), shared by the floor and xdelta3. */
export interface AddedFiles {
  readonly bytes: number;
  readonly encode: RunTotals;
  readonly decode: RunTotals;
}

export async function compressAdded(v2: string, diff: TreeDiff, scratch: string): Promise<AddedFiles> {
  await mkdir(scratch, { recursive: true });
  const encode = new RunTotals();
  const decode = new RunTotals();
  let bytes = 0;
  const [packed, out] = [join(scratch, "added.zst"), join(scratch, "added.out")];
  for (const p of diff.added) {
    encode.add(await runMeasured("zstd", ["-q", "-f", "-19", "--long=27", join(v2, p), "-o", packed]));
    bytes += (await stat(packed)).size;
    decode.add(await runMeasured("zstd", ["-q", "-f", "-d", "--long=27", packed, "-o", out]));
    await expectHash(out, diff.v2Hashes.get(p), "zstd");
  }
  await rm(scratch, { recursive: true, force: true });
  return { bytes, encode, decode };
}

type PatchCommands = (
  oldPath: string,
  newPath: string,
  patch: string,
  out: string,
) => Promise<{ readonly encode: readonly string[]; readonly decode: readonly string[] }>;

async function perFilePatches(
  tool: string,
  v1: string,
  v2: string,
  diff: TreeDiff,
  added: AddedFiles,
  scratch: string,
  commands: PatchCommands,
): Promise<PeerFigures> {
  await mkdir(scratch, { recursive: true });
  const encode = new RunTotals();
  const decode = new RunTotals();
  let bytes = added.bytes;
  const [patch, out] = [join(scratch, "patch"), join(scratch, "out")];
  for (const p of diff.changed) {
    const c = await commands(join(v1, p), join(v2, p), patch, out);
    encode.add(await runMeasured(tool, c.encode));
    bytes += (await stat(patch)).size;
    decode.add(await runMeasured(tool, c.decode));
    await expectHash(out, diff.v2Hashes.get(p), tool);
  }
  await rm(scratch, { recursive: true, force: true });
  return {
    bytes,
    requests: diff.changed.length + diff.added.length,
    publishSeconds: encode.seconds + added.encode.seconds,
    publishRssMiB: Math.max(encode.rssMiB, added.encode.rssMiB),
    updateSeconds: decode.seconds + added.decode.seconds,
    updateRssMiB: Math.max(decode.rssMiB, added.decode.rssMiB),
  };
}

/** The floor: per-file zstd patches of changed files plus the added files compressed. */
export function zstdFloor(
  v1: string,
  v2: string,
  diff: TreeDiff,
  added: AddedFiles,
  scratch: string,
): Promise<PeerFigures> {
  return perFilePatches("zstd", v1, v2, diff, added, scratch, (oldPath, newPath, patch, out) =>
    Promise.resolve({
      encode: ["-q", "-f", "-19", "--long=27", `--patch-from=${oldPath}`, newPath, "-o", patch],
      decode: ["-q", "-f", "-d", "--long=27", `--patch-from=${oldPath}`, patch, "-o", out],
    }),
  );
}

export function xdelta3PerFile(
  v1: string,
  v2: string,
  diff: TreeDiff,
  added: AddedFiles,
  scratch: string,
): Promise<PeerFigures> {
  return perFilePatches("xdelta3", v1, v2, diff, added, scratch, async (oldPath, newPath, patch, out) => {
    // -B: a source window covering the whole old file (the 64 MiB default misses far matches in
    // larger files; a window far above the file only costs allocation time).
    const window = String(2 ** Math.min(31, Math.max(20, log2ceil((await stat(oldPath)).size))));
    return {
      encode: ["-9", "-e", "-f", "-B", window, "-s", oldPath, newPath, patch],
      decode: ["-d", "-f", "-B", window, "-s", oldPath, patch, out],
    };
  });
}

// -------------------------------------------------------------------------------------------------------
// Whole-tree peers

/** Reproducible tar of a tree, as the corpus README makes its reference sizes. */
export async function tarTree(dir: string, out: string): Promise<void> {
  await runMeasured("tar", [
    "--sort=name",
    "--format=gnu",
    "--owner=0",
    "--group=0",
    "--numeric-owner",
    "--mtime=@0",
    "-cf",
    out,
    "-C",
    dir,
    ".",
  ]);
}

/** Whole-tree binary delta: `zstd -19 --long=W --patch-from=v1.tar v2.tar`, W covering v1.tar. */
export async function zstdTarPatch(v1Tar: string, v2Tar: string, scratch: string): Promise<PeerFigures> {
  await mkdir(scratch, { recursive: true });
  const windowLog = Math.max(27, Math.min(31, log2ceil((await stat(v1Tar)).size)));
  const long = `--long=${windowLog}`;
  const [patch, out] = [join(scratch, "tar.patch"), join(scratch, "v2.tar")];
  const enc = await runMeasured("zstd", [
    "-q",
    "-f",
    "-19",
    long,
    `--patch-from=${v1Tar}`,
    v2Tar,
    "-o",
    patch,
  ]);
  const bytes = (await stat(patch)).size;
  const dec = await runMeasured("zstd", ["-q", "-f", "-d", long, `--patch-from=${v1Tar}`, patch, "-o", out]);
  if ((await sha256File(out)) !== (await sha256File(v2Tar)))
    throw new Error("zstd tar: rebuilt v2.tar differs");
  await rm(scratch, { recursive: true, force: true });
  return {
    bytes,
    requests: 1,
    publishSeconds: enc.seconds,
    publishRssMiB: enc.rssMiB,
    updateSeconds: dec.seconds,
    updateRssMiB: dec.rssMiB,
    note: long,
  };
}

export interface FreshReference {
  /** `tar | zstd -19 --long=27` of v2: bytes, encode, and decode + extract + sync into an empty dir. */
  readonly tarZstd: PeerFigures;
  /** `cp -a` of v2 into an empty dir, then `sync`. */
  readonly copy: ProcessRun;
}

export async function freshReferences(
  v2: string,
  v2Tar: string,
  diff: TreeDiff,
  scratch: string,
): Promise<FreshReference> {
  await mkdir(scratch, { recursive: true });
  const packed = join(scratch, "v2.tar.zst");
  const enc = await runMeasured("zstd", ["-q", "-f", "-19", "--long=27", v2Tar, "-o", packed]);
  const bytes = (await stat(packed)).size;
  const extracted = join(scratch, "extracted");
  await mkdir(extracted);
  const dec = await runMeasured("sh", [
    "-c",
    'zstd -q -d --long=27 -c "$1" | tar -x -C "$2" && sync',
    "sh",
    packed,
    extracted,
  ]);
  await checkTree(extracted, diff);
  await makeWritable(extracted);
  const copied = join(scratch, "copied");
  const copy = await runMeasured("sh", ["-c", 'cp -a "$1" "$2" && sync', "sh", v2, copied]);
  await checkTree(copied, diff);
  await makeWritable(copied);
  await rm(scratch, { recursive: true, force: true });
  return {
    tarZstd: {
      bytes,
      requests: 1,
      publishSeconds: enc.seconds,
      publishRssMiB: enc.rssMiB,
      updateSeconds: dec.seconds,
      updateRssMiB: dec.rssMiB,
    },
    copy,
  };
}

/** The update-time floor: copy each changed/added v2 file, fsync it, SHA-256 it. Seconds. */
export async function copyFsyncHash(v2: string, diff: TreeDiff, scratch: string): Promise<number> {
  await mkdir(scratch, { recursive: true });
  const start = performance.now();
  for (const [i, p] of [...diff.changed, ...diff.added].entries()) {
    const dest = join(scratch, `f${i}`);
    await copyFile(join(v2, p), dest);
    const handle = await open(dest, "r+");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    const hash = createHash("sha256");
    for await (const block of createReadStream(dest, { highWaterMark: 1 << 20 }))
      hash.update(block as Buffer);
    hash.digest();
  }
  const seconds = (performance.now() - start) / 1000;
  await rm(scratch, { recursive: true, force: true });
  return seconds;
}

// -------------------------------------------------------------------------------------------------------
// Network peers

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, daemon: ChildProcess, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (daemon.exitCode !== null) throw new Error(`rsync --daemon exited ${daemon.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: "127.0.0.1", port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    if (performance.now() > deadline) throw new Error(`rsync --daemon not listening on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Parses `Total bytes received: 1,234` (client side of `rsync --stats`). */
export function rsyncReceived(stats: string): number {
  const m = /Total bytes received: ([\d,.]+)/.exec(stats);
  if (!m?.[1]) throw new Error(`rsync --stats printed no "Total bytes received": ${stats.slice(-300)}`);
  return Number(m[1].replace(/[,.]/g, ""));
}

/** A real rsync daemon serving v2 on 127.0.0.1; the client updates a `cp -a` copy of v1 with `rsync -az`. */
export async function rsyncPeer(
  v1: string,
  v2: string,
  diff: TreeDiff,
  scratch: string,
): Promise<PeerFigures> {
  await mkdir(scratch, { recursive: true });
  const port = await freePort();
  const config = join(scratch, "rsyncd.conf");
  const root = process.getuid?.() === 0;
  await writeFile(
    config,
    [
      `pid file = ${join(scratch, "rsyncd.pid")}`,
      `log file = ${join(scratch, "rsyncd.log")}`,
      "use chroot = no",
      // As root the daemon would drop to "nobody"; the corpus is world-readable but a temp copy may not be.
      ...(root ? ["uid = 0", "gid = 0"] : []),
      "[new]",
      `path = ${v2}`,
      "read only = yes",
      "",
    ].join("\n"),
  );
  const daemon = spawn(
    "rsync",
    ["--daemon", "--no-detach", `--config=${config}`, `--port=${port}`, "--address=127.0.0.1"],
    { stdio: "ignore" },
  );
  try {
    await waitForPort(port, daemon);
    const dest = join(scratch, "install");
    await runMeasured("cp", ["-a", v1, dest]);
    await makeWritable(dest);
    // --checksum: the quick check (size + mtime) skips changed files of equal size when the trees'
    // mtimes say nothing (the corpus carries its export time), and the result would not be v2.
    const client = await runMeasured("rsync", [
      "-az",
      "--checksum",
      "--stats",
      "--delete",
      `rsync://127.0.0.1:${port}/new/`,
      `${dest}/`,
    ]);
    await checkTree(dest, diff);
    await makeWritable(dest);
    return {
      bytes: rsyncReceived(client.stdout),
      requests: 1,
      publishSeconds: Number.NaN,
      publishRssMiB: Number.NaN,
      updateSeconds: client.seconds,
      updateRssMiB: client.rssMiB,
      note: "--checksum, one connection",
    };
  } finally {
    // Wait for the daemon to exit: it writes its log into scratch while exiting (rm would race it).
    const exited = daemon.exitCode !== null || daemon.signalCode !== null;
    const closed = exited ? Promise.resolve() : new Promise((r) => daemon.once("close", r));
    daemon.kill("SIGTERM");
    await closed;
    await rm(scratch, { recursive: true, force: true });
  }
}

/** zsyncmake each changed/added v2 file into the served dir; zsync it over HTTP, seeded with the v1 file. */
export async function zsyncPeer(
  v1: string,
  v2: string,
  diff: TreeDiff,
  server: CountingServer,
  serveDir: string,
  scratch: string,
): Promise<PeerFigures> {
  const prefix = `zsync-${process.hrtime.bigint()}`;
  const served = join(serveDir, prefix);
  await mkdir(served, { recursive: true });
  await mkdir(scratch, { recursive: true });
  try {
    const names = [...diff.changed, ...diff.added];
    const make = new RunTotals();
    for (const [i, p] of names.entries()) {
      await copyFile(join(v2, p), join(served, `f${i}`));
      make.add(
        await runMeasured(
          "zsyncmake",
          ["-o", join(served, `f${i}.zsync`), "-u", `f${i}`, join(served, `f${i}`)],
          {
            cwd: served,
          },
        ),
      );
    }
    const changed = new Set(diff.changed);
    const client = new RunTotals();
    server.take();
    for (const [i, p] of names.entries()) {
      const out = join(scratch, `out${i}`);
      const seed = changed.has(p) ? ["-i", join(v1, p)] : [];
      client.add(
        await runMeasured("zsync", ["-q", ...seed, "-o", out, `${server.url}${prefix}/f${i}.zsync`], {
          cwd: scratch,
          timeoutMs: 60_000,
        }),
      );
      await expectHash(out, diff.v2Hashes.get(p), "zsync");
      await rm(out, { force: true });
    }
    const counts = server.take();
    return {
      bytes: counts.wire,
      requests: counts.requests,
      publishSeconds: make.seconds,
      publishRssMiB: make.rssMiB,
      updateSeconds: client.seconds,
      updateRssMiB: client.rssMiB,
    };
  } finally {
    await rm(served, { recursive: true, force: true });
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Timestamps off: casync would otherwise store every file's mtime and miss unchanged files' chunks. */
const CASYNC_NO_TIMES = ["sec-time", "usec-time", "nsec-time", "2sec-time"].map((f) => `--without=${f}`);

/** `casync make` of v2 into a served store (the publish), `casync extract --seed=v1` over HTTP (the update). */
export async function casyncPeer(
  v1: string,
  v2: string,
  diff: TreeDiff,
  server: CountingServer,
  serveDir: string,
  scratch: string,
): Promise<PeerFigures> {
  const prefix = `casync-${process.hrtime.bigint()}`;
  const served = join(serveDir, prefix);
  await mkdir(served, { recursive: true });
  await mkdir(scratch, { recursive: true });
  try {
    const make = await runMeasured("casync", [
      "make",
      ...CASYNC_NO_TIMES,
      `--store=${join(served, "store.castr")}`,
      join(served, "v2.caidx"),
      v2,
    ]);
    server.take();
    const out = join(scratch, "out");
    const extract = await runMeasured("casync", [
      "extract",
      ...CASYNC_NO_TIMES,
      `--store=${server.url}${prefix}/store.castr`,
      `--seed=${v1}`,
      `${server.url}${prefix}/v2.caidx`,
      out,
    ]);
    const counts = server.take();
    await checkTree(out, diff);
    await makeWritable(out);
    return {
      bytes: counts.wire,
      requests: counts.requests,
      publishSeconds: make.seconds,
      publishRssMiB: make.rssMiB,
      updateSeconds: extract.seconds,
      updateRssMiB: extract.rssMiB,
      note: "timestamps off",
    };
  } finally {
    await rm(served, { recursive: true, force: true });
    await rm(scratch, { recursive: true, force: true });
  }
}
