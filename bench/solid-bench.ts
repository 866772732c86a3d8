/**
 * Solid blocks on the OpenRCT2 objects corpus (docs/FORMAT.md §4.1), same run, bytes counted at a loopback
 * server (bodies, metadata included): a fresh install of v1.7.10, the bugfix v1.7.9 → v1.7.10 and the far
 * hop v1.4.0 → v1.7.10 (deltas only from the previous release, so none for the far hop), once per-chunk
 * (before) and once per solid configuration. Peers on the same trees: `tar | zstd -19 --long=27` (fresh),
 * whole-tree `zstd -19 --long=27 --patch-from`, and casync with every optional attribute off
 * (`--without=all`: no mtimes) seeded with the old tree. Every installed tree is checked byte for byte.
 *
 * Run from the worktree: npm run bench:solid [-- --variants] [--solid-only]   (needs zstd, tar, casync: apt-get install
 * zstd casync). `--variants` adds 4 MiB blocks and Brotli 11.
 */
import "../src/register-node.js";
import { mkdir, mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { update } from "../src/client/ops/update.js";
import { generateKeyPair, parsePrivateKey, parsePublicKey } from "../src/node/node-keys.js";
import { publish } from "../src/publisher/publish.js";
import type { SolidOption } from "../src/publisher/solid-option.js";
import { serveCounting } from "./counting-server.js";
import { listTree, run, runAsync, sha256File } from "./peer-tools.js";

const corpus = resolve(process.cwd(), "../shared/corpus/openrct2-objects");
const [OLD, MID, NEW] = ["v1.4.0", "v1.7.9", "v1.7.10"].map((v) => join(corpus, v)) as [
  string,
  string,
  string,
];
const variants = process.argv.includes("--variants");

const solidOnly = process.argv.includes("--solid-only");
const configs: { name: string; solid: SolidOption }[] = [
  ...(solidOnly ? [] : [{ name: "per-chunk (before)", solid: false as const }]),
  { name: "solid 1 MiB q9", solid: true },
  ...(variants
    ? [
        { name: "solid 4 MiB q9", solid: { blockBytes: 4 * 1024 * 1024 } },
        { name: "solid 1 MiB q11", solid: { quality: 11 } },
      ]
    : []),
];

const { privatePem, publicText } = generateKeyPair();
const key = parsePrivateKey(privatePem, "bench key");
const pub = parsePublicKey(publicText, "bench pub");
const tmp = await mkdtemp(join(tmpdir(), "ferry-solid-bench-"));
const server = await serveCounting(tmp);

/** path → sha256 of every file under `dir` (without .ferry/). */
async function listing(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const path of await listTree(dir)) {
    if (path.startsWith(".ferry/")) continue;
    out.set(path, await sha256File(join(dir, path)));
  }
  return out;
}

const expected = new Map<string, Map<string, string>>();
async function checkInstalled(dir: string, tree: string): Promise<void> {
  if (!expected.has(tree)) expected.set(tree, await listing(tree));
  const want = expected.get(tree)!;
  const got = await listing(dir);
  const wrong =
    [...want].filter(([p, h]) => got.get(p) !== h).length +
    [...got.keys()].filter((p) => !want.has(p)).length;
  if (wrong > 0) throw new Error(`${dir} differs from ${tree} in ${wrong} files`);
}

function tar(dir: string, out: string): void {
  run("tar", [
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

async function peers() {
  const scratch = join(tmp, "peers");
  await mkdir(scratch, { recursive: true });
  const tars = Object.fromEntries(
    ["old", "mid", "new"].map((n, i) => {
      const out = join(scratch, `${n}.tar`);
      tar([OLD, MID, NEW][i]!, out);
      return [n, out];
    }),
  ) as Record<"old" | "mid" | "new", string>;
  const zstd = async (args: string[], out: string): Promise<number> => {
    run("zstd", ["-q", "-f", "-19", "--long=27", ...args, "-o", out]);
    return (await stat(out)).size;
  };
  const fresh = await zstd([tars.new], join(scratch, "new.tar.zst"));
  const bugfixPatch = await zstd([`--patch-from=${tars.mid}`, tars.new], join(scratch, "mid-new.zst"));
  const farPatch = await zstd([`--patch-from=${tars.old}`, tars.new], join(scratch, "old-new.zst"));
  const casync = async (seed: string, name: string): Promise<number> => {
    const served = join(tmp, `casync-${name}`);
    await mkdir(served, { recursive: true });
    run("casync", [
      "make",
      "--without=all",
      `--store=${join(served, "store.castr")}`,
      join(served, "new.caidx"),
      NEW,
    ]);
    server.take();
    const out = join(scratch, `casync-out-${name}`);
    await runAsync("casync", [
      "extract",
      "--without=all",
      `--store=${server.url}casync-${name}/store.castr`,
      `--seed=${seed}`,
      `${server.url}casync-${name}/new.caidx`,
      out,
    ]);
    const { bytes } = server.take();
    await checkInstalled(out, NEW);
    return bytes;
  };
  const result = {
    freshTarZstd: fresh,
    bugfixPatchFrom: bugfixPatch,
    farPatchFrom: farPatch,
    bugfixCasync: await casync(MID, "bugfix"),
    farCasync: await casync(OLD, "far"),
  };
  await rm(scratch, { recursive: true, force: true });
  return result;
}

interface FerryRun {
  readonly name: string;
  readonly fresh: number;
  readonly freshMetadata: number;
  readonly bugfix: number;
  readonly bugfixMetadata: number;
  readonly far: number;
  readonly farMetadata: number;
  readonly storedBytes: number;
  readonly publishSeconds: number;
}

async function ferry(name: string, solid: SolidOption): Promise<FerryRun> {
  const id = name.replace(/[^a-z0-9]+/gi, "-");
  const repo = join(tmp, `repo-${id}`);
  const repoUrl = `${server.url}repo-${id}/`;
  const base = { repo, key, solid, deltaHistory: 1, expiresInDays: 30 };
  const install = (dir: string) => update({ repoUrl, installDir: join(tmp, `${id}-${dir}`), trust: [pub] });
  let publishSeconds = 0;
  let storedBytes = 0;
  const pub1 = async (buildDir: string, version: string): Promise<void> => {
    const started = performance.now();
    const r = await publish({ ...base, buildDir, version });
    publishSeconds += (performance.now() - started) / 1000;
    storedBytes += r.storedBytes;
  };
  await pub1(OLD, "1.4.0");
  await install("far");
  await pub1(MID, "1.7.9");
  await install("bugfix");
  await pub1(NEW, "1.7.10");
  server.take();
  const fresh = await install("fresh");
  const freshBytes = server.take().bytes;
  const bugfix = await install("bugfix");
  const bugfixBytes = server.take().bytes;
  const far = await install("far");
  const farBytes = server.take().bytes;
  for (const dir of ["fresh", "bugfix", "far"]) await checkInstalled(join(tmp, `${id}-${dir}`), NEW);
  return {
    name,
    fresh: freshBytes,
    freshMetadata: fresh.metadataBytes,
    bugfix: bugfixBytes,
    bugfixMetadata: bugfix.metadataBytes,
    far: farBytes,
    farMetadata: far.metadataBytes,
    storedBytes,
    publishSeconds: Number(publishSeconds.toFixed(1)),
  };
}

try {
  const peer = await peers();
  console.log(JSON.stringify({ peers: peer }));
  const runs: FerryRun[] = [];
  for (const { name, solid } of configs) {
    const r = await ferry(name, solid);
    runs.push(r);
    console.log(JSON.stringify(r));
  }
  const ratio = (a: number, b: number): string => `${(a / b).toFixed(3)}×`;
  const n = (x: number): string => x.toLocaleString("en-US");
  console.log(
    `\nPeers: tar|zstd -19 --long=27 of v1.7.10 ${n(peer.freshTarZstd)} B; patch-from bugfix ${n(peer.bugfixPatchFrom)} B, far ${n(peer.farPatchFrom)} B; casync (--without=all) bugfix ${n(peer.bugfixCasync)} B, far ${n(peer.farCasync)} B\n`,
  );
  console.log(
    "| Ferry | fresh install B (÷ tar.zst) | bugfix B (÷ patch-from) | far hop B (÷ patch-from, ÷ casync) | publish s (3 releases) |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: |");
  for (const r of runs) {
    console.log(
      `| ${r.name} | ${n(r.fresh)} (${ratio(r.fresh, peer.freshTarZstd)}) | ${n(r.bugfix)} (${ratio(r.bugfix, peer.bugfixPatchFrom)}) | ${n(r.far)} (${ratio(r.far, peer.farPatchFrom)}, ${ratio(r.far, peer.farCasync)}) | ${r.publishSeconds} |`,
    );
  }
} finally {
  await server.close();
  await rm(tmp, { recursive: true, force: true });
}
