/**
 * Peer benchmark ("smallest downloads"): Ferry's update v1 -> v2 beside file-level compression,
 * zstd --patch-from (per file and whole tar), xdelta3, zsync and casync, on generated fixtures and the real
 * corpus, in one deterministic run. Writes the tables to docs/BENCHMARKS.md and prints them.
 *
 *   npm run build && node dist/bench/peers.js
 *   FERRY_PEERS_SCALE=1 node dist/bench/peers.js      # full-size fixtures (F1 ~140 MB)
 *   FERRY_PEERS_F4=1 node dist/bench/peers.js         # adds F4, one file >= 4 GiB (long)
 *
 * Ferry, zsync and casync are counted at a loopback HTTP server (response bodies, requests); Ferry's
 * figure includes its metadata. File-based peers count the payload a client would fetch (one GET per
 * file, no file list or signature). Everything runs under os.tmpdir() and is removed at the end.
 */
import { cpus, tmpdir } from "node:os";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateKeyPair, type PublishResult, type UpdateSummary } from "../src/index.js";
import { type CountingServer, serveCounting } from "./counting-server.js";
import { type MachineBaselines, measureMachine } from "./machine-baselines.js";
import {
  casyncPeer,
  checkTree,
  diffTrees,
  ensureTools,
  fileLevel,
  type PeerOutcome,
  type PeerResult,
  type TreeDiff,
  toolVersions,
  xdelta3PerFile,
  zstdPerFile,
  zstdTar,
  zsyncPeer,
} from "./peer-tools.js";
import { makeHugeFile, makeLooseTree, makeRebuiltBinary, makeShiftedPack } from "./peers-fixtures.js";
import { runWorker } from "./run-worker.js";

const REPO_ROOT = join(fileURLToPath(import.meta.url), "..", "..", "..");
const CORPUS = join(REPO_ROOT, "..", "shared", "corpus", "shattered-pixel-dungeon");
const RAW_SCALE = process.env.FERRY_PEERS_SCALE ?? "";
const SCALE = RAW_SCALE === "" ? 0.25 : Number(RAW_SCALE);
if (!(SCALE > 0 && SCALE <= 64)) throw new Error(`FERRY_PEERS_SCALE must be in (0, 64], got ${RAW_SCALE}`);
const WITH_F4 = process.env.FERRY_PEERS_F4 === "1";
const SEED = 20261122;
const MIB = 1024 * 1024;

const PEERS = ["file-level", "zstd per file", "zstd tar", "xdelta3", "zsync", "casync"] as const;
type PeerName = (typeof PEERS)[number];

interface FerryFigures {
  readonly bytes: number;
  readonly requests: number;
  readonly clientBytes: number;
  readonly metadataBytes: number;
  readonly deltasApplied: number;
  readonly publishSeconds: number;
  readonly updateSeconds: number;
  readonly updateRssMiB: number;
}

interface FixtureResult {
  readonly key: string;
  readonly label: string;
  readonly detail: string;
  readonly diff: TreeDiff;
  readonly ferry: FerryFigures | { readonly na: string };
  readonly peers: ReadonlyMap<PeerName, PeerOutcome>;
}

const started = performance.now();
const log = (line: string): void => {
  process.stderr.write(`[peers ${((performance.now() - started) / 1000).toFixed(1)}s] ${line}\n`);
};
const message = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split("\n")[0] ?? "";

/** Fresh repo and install: publish v1, install, publish v2, update; each in a child process. */
async function ferry(
  server: CountingServer,
  serveDir: string,
  tmp: string,
  key: string,
  v1: string,
  v2: string,
  diff: TreeDiff,
): Promise<FerryFigures> {
  const keys = generateKeyPair();
  const repo = join(serveDir, `ferry-${key}`);
  const installDir = join(tmp, `install-${key}`);
  const base = { repo, privatePem: keys.privatePem };
  const client = { repoUrl: `${server.url}ferry-${key}/`, installDir, publicText: keys.publicText };
  try {
    await runWorker<PublishResult>({ op: "publish", buildDir: v1, version: "1.0.0", ...base });
    await runWorker<UpdateSummary>({ op: "update", ...client });
    const publish2 = await runWorker<PublishResult>({
      op: "publish",
      buildDir: v2,
      version: "2.0.0",
      ...base,
    });
    server.take();
    const update2 = await runWorker<UpdateSummary>({ op: "update", ...client });
    const counts = server.take();
    await checkTree(installDir, diff);
    const u = update2.result;
    return {
      bytes: counts.bytes,
      requests: counts.requests,
      clientBytes: u.bytesDownloaded,
      metadataBytes: u.metadataBytes,
      deltasApplied: u.deltasApplied,
      publishSeconds: publish2.seconds,
      updateSeconds: update2.seconds,
      updateRssMiB: update2.rssMiB,
    };
  } finally {
    await rm(installDir, { recursive: true, force: true });
    await rm(repo, { recursive: true, force: true });
  }
}

async function attempt(
  name: string,
  missing: ReadonlyMap<string, string>,
  tools: readonly string[],
  fn: () => Promise<PeerResult>,
): Promise<PeerOutcome> {
  for (const tool of tools) {
    const reason = missing.get(tool);
    if (reason !== undefined) return { na: `${tool} unavailable: ${reason}` };
  }
  try {
    return await fn();
  } catch (e) {
    log(`${name} failed: ${e instanceof Error ? e.message : String(e)}`);
    return { na: `failed: ${message(e)}` };
  }
}

// -------------------------------------------------------------------------------------------------------
// Formatting

const int = (n: number): string => Math.round(n).toLocaleString("en-US");
const ratio = (a: number, b: number): string => (b > 0 ? `${(a / b).toFixed(a / b < 0.1 ? 3 : 2)}×` : "n/a");
const isNa = (o: object): o is { readonly na: string } => "na" in o;
const table = (header: readonly string[], rows: readonly (readonly string[])[]): string =>
  [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");

function report(
  results: readonly FixtureResult[],
  machine: MachineBaselines,
  versions: Record<string, string>,
  notes: readonly string[],
  command: string,
): string {
  const cpu = cpus();
  const out: string[] = [];
  out.push("# Benchmarks: Ferry against peer delta tools\n");
  out.push(
    `Generated by \`bench/peers.ts\` on ${new Date().toISOString()} (single run per figure). Command, from the repository root:\n\n` +
      "```\n" +
      command +
      "\n```\n",
  );
  out.push(
    `Scale FERRY_PEERS_SCALE=${SCALE}${RAW_SCALE === "" ? " (default)" : ""}; F4 (>= 4 GiB file) ${WITH_F4 ? "included (FERRY_PEERS_F4=1)" : "not run (set FERRY_PEERS_F4=1)"}. ` +
      `Node ${process.version}, ${process.platform}/${process.arch}, ${cpu.length} × ${cpu[0]?.model.trim() ?? "unknown CPU"}.\n`,
  );
  out.push(
    `Machine baselines: SHA-256 one thread over 256 MiB in memory ${machine.sha256MiBps.toFixed(0)} MiB/s; write + fsync of a 256 MiB file ${machine.writeFsyncMiBps.toFixed(0)} MiB/s.\n`,
  );
  out.push(
    `Tools: ${Object.entries(versions)
      .map(([k, v]) => `${k}: \`${v}\``)
      .join("; ")}.\n`,
  );
  out.push("## Fixtures\n");
  out.push(
    table(
      [
        "fixture",
        "v1",
        "v2",
        "changed / added / removed files",
        "changed + added bytes (v2)",
        "generated as",
      ],
      results.map((r) => [
        r.label,
        `${int(r.diff.v1Bytes)} B, ${int(r.diff.v1Files)} files`,
        `${int(r.diff.v2Bytes)} B, ${int(r.diff.v2Files)} files`,
        `${r.diff.changed.length} / ${r.diff.added.length} / ${r.diff.removed.length}`,
        `${int(r.diff.changedBytes)} B`,
        r.detail,
      ]),
    ),
  );
  out.push("\n## Bytes downloaded for the update v1 -> v2\n");
  const rows: string[][] = [];
  for (const r of results) {
    const f = r.ferry;
    rows.push([
      r.label,
      "**Ferry**",
      isNa(f) ? `n/a (${f.na})` : int(f.bytes),
      isNa(f) ? "" : int(f.requests),
      "1×",
      isNa(f) ? "" : f.updateSeconds.toFixed(2),
    ]);
    for (const name of PEERS) {
      const p = r.peers.get(name);
      if (p === undefined) continue;
      if (isNa(p)) rows.push([r.label, name, `n/a (${p.na})`, "", "", ""]);
      else
        rows.push([
          r.label,
          name + (p.note ? ` (${p.note})` : ""),
          int(p.bytes),
          int(p.requests),
          isNa(f) ? "n/a" : ratio(f.bytes, p.bytes),
          p.seconds.toFixed(2),
        ]);
    }
  }
  out.push(table(["fixture", "method", "bytes", "requests", "Ferry ÷ method (bytes)", "seconds"], rows));
  out.push(
    "\nFerry, zsync and casync: response body bytes and requests counted at the loopback server (Ferry includes its signed pointer and manifest). " +
      "file-level: changed + added files each compressed whole with Brotli 11 (window 16 MiB). zstd per file: `zstd -19 --long=27 --patch-from=old new` per changed file, added files as in file-level. " +
      "zstd tar: reproducible tar of each tree, `zstd -19 --patch-from=v1.tar v2.tar` (window raised to cover v1.tar when larger than 128 MiB). " +
      "xdelta3: `xdelta3 -9 -e -B <window> -s old new` per changed file, added files as in file-level. File-based methods count payload only: one GET per file, no file list, no signature. " +
      "seconds: the client's update for Ferry and the HTTP peers, encode time for the file-based ones.\n",
  );
  out.push("## Ferry: publish, update, memory\n");
  out.push(
    table(
      [
        "fixture",
        "publish v2 s",
        "update s",
        "update peak RSS MiB",
        "metadata B",
        "client-counted bytes",
        "deltas applied",
        "copy+fsync+sha256 of changed bytes s",
      ],
      results.map((r) => {
        const f = r.ferry;
        const base = floorSeconds(r.diff.changedBytes, machine);
        return isNa(f)
          ? [r.label, "n/a", "n/a", "n/a", "n/a", "n/a", "n/a", base.toFixed(2)]
          : [
              r.label,
              f.publishSeconds.toFixed(2),
              f.updateSeconds.toFixed(2),
              f.updateRssMiB.toFixed(1),
              int(f.metadataBytes),
              int(f.clientBytes),
              String(f.deltasApplied),
              base.toFixed(2),
            ];
      }),
    ),
  );
  out.push("\n## The issue's targets, against these figures\n");
  out.push(
    table(
      [
        "fixture",
        "≤ 1.25× zstd per-file patches",
        "≤ 1.02× changed files compressed whole",
        "client peak RSS ≤ 64 MiB",
        "update ≤ 2× (copy + fsync + sha256 of changed)",
      ],
      results.map((r) => targets(r, machine)),
    ),
  );
  out.push(
    "\nEach cell: measured value, then met / NOT met. The update-time floor is changed+added bytes ÷ write+fsync rate + the same bytes ÷ SHA-256 rate, from the machine baselines above. " +
      "The RSS target applies to F1–F3 and F5; F4 is listed for information.\n",
  );
  if (notes.length > 0) out.push(`## Notes\n\n${notes.map((n) => `- ${n}`).join("\n")}\n`);
  return out.join("\n");
}

function floorSeconds(bytes: number, m: MachineBaselines): number {
  return bytes / MIB / m.writeFsyncMiBps + bytes / MIB / m.sha256MiBps;
}

function targets(r: FixtureResult, m: MachineBaselines): string[] {
  const f = r.ferry;
  if (isNa(f)) return [r.label, "n/a", "n/a", "n/a", "n/a"];
  const verdict = (ok: boolean): string => (ok ? "met" : "**NOT met**");
  const vs = (name: PeerName, limit: number): string => {
    const p = r.peers.get(name);
    if (p === undefined || isNa(p)) return "n/a (peer not measured)";
    return `${(f.bytes / p.bytes).toFixed(2)}× — ${verdict(f.bytes <= limit * p.bytes)}`;
  };
  const floor = floorSeconds(r.diff.changedBytes, m);
  const rssApplies = r.key !== "F4";
  return [
    r.label,
    vs("zstd per file", 1.25),
    vs("file-level", 1.02),
    `${f.updateRssMiB.toFixed(1)} MiB — ${rssApplies ? verdict(f.updateRssMiB <= 64) : "(not a target for F4)"}`,
    `${f.updateSeconds.toFixed(2)} s vs 2 × ${floor.toFixed(2)} s — ${verdict(f.updateSeconds <= 2 * floor)}`,
  ];
}

// -------------------------------------------------------------------------------------------------------
// Main

interface Fixture {
  readonly key: string;
  readonly label: string;
  readonly v1: string;
  readonly v2: string;
  readonly detail: string;
}

async function main(): Promise<void> {
  const tmp = await mkdtemp(join(tmpdir(), "ferry-peers-"));
  const serveDir = join(tmp, "served");
  await mkdir(serveDir, { recursive: true });
  const server = await serveCounting(serveDir);
  const notes: string[] = [];
  const onSignal = (): void =>
    void rm(tmp, { recursive: true, force: true }).finally(() => process.exit(130));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const missing = ensureTools(log);
    for (const [tool, reason] of missing) notes.push(`${tool} unavailable: ${reason}`);
    const versions = toolVersions();
    log(`tools ${JSON.stringify(versions)}`);
    log("machine baselines");
    const machine = await measureMachine(tmp);
    log(
      `sha256 ${machine.sha256MiBps.toFixed(0)} MiB/s, write+fsync ${machine.writeFsyncMiBps.toFixed(0)} MiB/s`,
    );

    const fixtures: Fixture[] = [];
    const gen = async (key: string, label: string, make: (dir: string) => Promise<string>): Promise<void> => {
      const dir = join(tmp, "fixtures", key);
      await mkdir(dir, { recursive: true });
      log(`${key}: generating`);
      try {
        const detail = await make(dir);
        fixtures.push({ key, label, v1: join(dir, "v1"), v2: join(dir, "v2"), detail });
      } catch (e) {
        notes.push(`${label} skipped: ${message(e)}`);
        log(`${key} skipped: ${message(e)}`);
      }
    };
    await gen("F1", "F1 shifted pack", (d) => makeShiftedPack(d, Math.round(140e6 * SCALE), SEED));
    await gen("F2", "F2 rebuilt binary", (d) =>
      makeRebuiltBinary(d, Math.max(200, Math.round(4000 * SCALE)), SEED),
    );
    await gen("F3", "F3 loose tree", (d) => makeLooseTree(d, Math.max(1000, Math.round(8000 * SCALE)), SEED));
    if (WITH_F4) await gen("F4", "F4 ≥ 4 GiB file", (d) => makeHugeFile(d, SEED));
    else notes.push("F4 (one file ≥ 4 GiB) not run: set FERRY_PEERS_F4=1 to include it.");
    const v1 = join(CORPUS, "v3.0.0");
    const v2 = join(CORPUS, "v3.2.5");
    fixtures.push({
      key: "F5",
      label: "F5 SPD v3.0.0→v3.2.5",
      v1,
      v2,
      detail: "real corpus (../shared/corpus)",
    });

    const results: FixtureResult[] = [];
    let zsyncHung: string | null = null;
    for (const fx of fixtures) {
      let diff: TreeDiff;
      try {
        diff = await diffTrees(fx.v1, fx.v2);
      } catch (e) {
        notes.push(`${fx.label} skipped: ${message(e)}`);
        continue;
      }
      log(
        `${fx.key}: ${diff.changed.length} changed, ${diff.added.length} added, ${diff.removed.length} removed; Ferry`,
      );
      let ferryFigures: FerryFigures | { na: string };
      try {
        ferryFigures = await ferry(server, serveDir, tmp, fx.key, fx.v1, fx.v2, diff);
      } catch (e) {
        log(`${fx.key}: Ferry failed: ${e instanceof Error ? e.message : String(e)}`);
        ferryFigures = { na: `failed: ${message(e)}` };
      }
      const peers = new Map<PeerName, PeerOutcome>();
      const scratch = (name: string): string => join(tmp, "scratch", `${fx.key}-${name}`);
      log(`${fx.key}: file-level`);
      const whole = await fileLevel(fx.v2, diff);
      peers.set("file-level", whole);
      log(`${fx.key}: zstd`);
      peers.set(
        "zstd per file",
        await attempt("zstd", missing, ["zstd"], () =>
          zstdPerFile(fx.v1, fx.v2, diff, whole.perFile, scratch("zstd")),
        ),
      );
      peers.set(
        "zstd tar",
        await attempt("zstd tar", missing, ["zstd"], () => zstdTar(fx.v1, fx.v2, scratch("tar"))),
      );
      log(`${fx.key}: xdelta3`);
      peers.set(
        "xdelta3",
        await attempt("xdelta3", missing, ["xdelta3"], () =>
          xdelta3PerFile(fx.v1, fx.v2, diff, whole.perFile, scratch("xdelta3")),
        ),
      );
      log(`${fx.key}: zsync`);
      // A zsync that hung once hangs again on the next fixture: do not spend the timeout twice.
      const zsync: PeerOutcome = zsyncHung
        ? { na: `not run: zsync hung on ${zsyncHung}` }
        : await attempt("zsync", missing, ["zsync", "zsyncmake"], () =>
            zsyncPeer(fx.v1, fx.v2, diff, server, serveDir, scratch("zsync")),
          );
      if ("na" in zsync && zsync.na.includes("did not finish")) zsyncHung = fx.key;
      peers.set("zsync", zsync);
      log(`${fx.key}: casync`);
      peers.set(
        "casync",
        await attempt("casync", missing, ["casync"], () =>
          casyncPeer(fx.v1, fx.v2, diff, server, serveDir, scratch("casync")),
        ),
      );
      results.push({ key: fx.key, label: fx.label, detail: fx.detail, diff, ferry: ferryFigures, peers });
      if (fx.key !== "F5") await rm(join(tmp, "fixtures", fx.key), { recursive: true, force: true });
    }

    const env = [
      RAW_SCALE === "" ? "" : `FERRY_PEERS_SCALE=${RAW_SCALE} `,
      WITH_F4 ? "FERRY_PEERS_F4=1 " : "",
    ].join("");
    const command = `npm run build && ${env}node dist/bench/peers.js`;
    const markdown = report(results, machine, versions, notes, command);
    notes.push(`total bench time ${((performance.now() - started) / 1000).toFixed(0)} s`);
    const final = `${markdown}\nTotal bench time ${((performance.now() - started) / 1000).toFixed(0)} s.\n`;
    await writeFile(join(REPO_ROOT, "docs", "BENCHMARKS.md"), final);
    process.stdout.write(final);
    log("wrote docs/BENCHMARKS.md");
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await server.close();
    await rm(tmp, { recursive: true, force: true });
  }
}

await main();
