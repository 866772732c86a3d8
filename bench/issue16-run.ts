/**
 * Runs the issue-16 benchmark on release series (bench/issue16.ts gives the real corpus; the smoke test a
 * tiny generated pair): Ferry and every peer on the same trees, in this process tree, one after another.
 * Returns the measured figures and the markdown report (bench/issue16-report.ts).
 */
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { serveCounting } from "./counting-server.js";
import { type FerrySeries, type Release, runFerrySeries } from "./issue16-ferry.js";
import {
  casyncPeer,
  compressAdded,
  copyFsyncHash,
  type FreshReference,
  freshReferences,
  type PeerNa,
  type PeerOutcome,
  rsyncPeer,
  tarTree,
  xdelta3PerFile,
  zstdFloor,
  zstdTarPatch,
  zsyncPeer,
} from "./issue16-peers.js";
import { report } from "./issue16-report.js";
import { diffTrees, type TreeDiff } from "./peer-tools.js";

export const PEER_NAMES = ["floor", "xdelta3", "rsync", "zsync", "casync", "zstd tar"] as const;
export type PeerName = (typeof PEER_NAMES)[number];

/** Commands each peer needs; "fresh" is the tar | zstd and cp -a references. */
const TOOLS: Readonly<Record<PeerName | "fresh", readonly string[]>> = {
  floor: ["zstd"],
  xdelta3: ["xdelta3", "zstd"],
  rsync: ["rsync"],
  zsync: ["zsync", "zsyncmake"],
  casync: ["casync"],
  "zstd tar": ["zstd", "tar"],
  fresh: ["zstd", "tar", "cp"],
};

export const INSTALL_HINT = "apt-get install xdelta3 rsync casync zsync zstd";

export interface PairSpec {
  readonly key: string;
  readonly label: string;
  /** Index of the old release in the series; the new one is always the last. */
  readonly from: number;
  readonly smallChange: boolean;
  readonly farHop: boolean;
}

export interface SeriesSpec {
  readonly key: string;
  readonly label: string;
  /** Published in this order into one repository. */
  readonly releases: readonly Release[];
  readonly pairs: readonly PairSpec[];
}

export interface PairResult {
  readonly spec: PairSpec;
  readonly diff: TreeDiff;
  readonly peers: ReadonlyMap<PeerName, PeerOutcome>;
  readonly copyFsyncHashSeconds: number;
}

export interface SeriesResult {
  readonly spec: SeriesSpec;
  readonly ferry: FerrySeries | PeerNa;
  readonly fresh: FreshReference | PeerNa;
  readonly pairs: readonly PairResult[];
}

export interface Issue16Options {
  readonly series: readonly SeriesSpec[];
  /** Peers not to run (by name), e.g. to keep a smoke test short. */
  readonly skip?: ReadonlySet<string>;
  readonly deltaHistory?: number;
  readonly log: (line: string) => void;
  /** The command that reproduces this run, printed in the report. */
  readonly command: string;
}

export interface Issue16Run {
  readonly series: readonly SeriesResult[];
  readonly markdown: string;
}

export function hasCommand(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

export function toolVersions(): Record<string, string> {
  const first = (cmd: string, args: string[]): string => {
    if (!hasCommand(cmd)) return "absent";
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    return `${r.stdout}${r.stderr}`.trim().split("\n")[0]?.trim() ?? "?";
  };
  return {
    zstd: first("zstd", ["--version"]),
    xdelta3: first("xdelta3", ["-V"]),
    rsync: first("rsync", ["--version"]),
    zsync: first("zsync", ["-V"]),
    casync: first("casync", ["--version"]),
    tar: first("tar", ["--version"]),
  };
}

/** The added files' zstd figures, computed only when zstd is present (every peer using them needs it). */
function need<T>(value: T | null): T {
  if (value === null) throw new Error("zstd is absent: the added files were not compressed");
  return value;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split("\n")[0] ?? "";

export async function runIssue16(o: Issue16Options): Promise<Issue16Run> {
  const tmp = await mkdtemp(join(tmpdir(), "ferry-issue16-"));
  const serveDir = join(tmp, "served");
  await mkdir(serveDir, { recursive: true });
  const server = await serveCounting(serveDir);
  const notes: string[] = [];
  const loadBefore = loadavg();
  const started = performance.now();
  const absent = new Map<string, string>();
  for (const tools of Object.values(TOOLS))
    for (const tool of tools) if (!hasCommand(tool)) absent.set(tool, "absent");
  if (absent.size > 0)
    notes.push(
      `Missing: ${[...absent.keys()].join(", ")}. Install with \`${INSTALL_HINT}\`; their peers are skipped.`,
    );
  const unavailable = (name: PeerName | "fresh"): PeerNa | null => {
    if (o.skip?.has(name)) return { na: "skipped (FERRY_BENCH_SKIP)" };
    const missing = TOOLS[name].filter((t) => absent.has(t));
    return missing.length > 0 ? { na: `${missing.join(", ")} absent: \`${INSTALL_HINT}\`` } : null;
  };
  const attempt = async <T>(
    label: string,
    name: PeerName | "fresh",
    fn: () => Promise<T>,
  ): Promise<T | PeerNa> => {
    const skipped = unavailable(name);
    if (skipped !== null) return skipped;
    o.log(`${label}: ${name}`);
    try {
      return await fn();
    } catch (e) {
      o.log(`${label}: ${name} failed: ${e instanceof Error ? e.message : String(e)}`);
      return { na: `failed: ${message(e)}` };
    }
  };
  const results: SeriesResult[] = [];
  try {
    for (const series of o.series) {
      const last = series.releases.at(-1);
      if (last === undefined) throw new Error(`series ${series.key} has no release`);
      const diffs = new Map<number, TreeDiff>();
      for (const pair of series.pairs) {
        const from = series.releases[pair.from];
        if (from === undefined || from === last)
          throw new Error(`pair ${pair.key}: bad release index ${pair.from}`);
        o.log(`${pair.key}: diff ${from.version} -> ${last.version}`);
        diffs.set(pair.from, await diffTrees(from.dir, last.dir));
      }
      const anyDiff = diffs.values().next().value;
      if (anyDiff === undefined) throw new Error(`series ${series.key} has no pair`);
      let ferry: FerrySeries | PeerNa;
      try {
        ferry = await runFerrySeries({
          server,
          serveDir,
          tmp,
          key: series.key,
          releases: series.releases,
          updateFrom: series.pairs.map((p) => p.from),
          diffs,
          freshDiff: anyDiff,
          ...(o.deltaHistory === undefined ? {} : { deltaHistory: o.deltaHistory }),
          log: o.log,
        });
      } catch (e) {
        o.log(`${series.key}: Ferry failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        ferry = { na: `failed: ${message(e)}` };
      }
      const tars = join(tmp, "tars", series.key);
      await mkdir(tars, { recursive: true });
      const tarOf = new Map<number, string>();
      const tarFor = async (index: number): Promise<string> => {
        let path = tarOf.get(index);
        if (path === undefined) {
          path = join(tars, `r${index}.tar`);
          await tarTree(series.releases[index]?.dir ?? "", path);
          tarOf.set(index, path);
        }
        return path;
      };
      const lastIndex = series.releases.length - 1;
      const fresh = await attempt(series.key, "fresh", async () =>
        freshReferences(last.dir, await tarFor(lastIndex), anyDiff, join(tmp, "fresh")),
      );
      const pairs: PairResult[] = [];
      for (const spec of series.pairs) {
        const diff = diffs.get(spec.from);
        const from = series.releases[spec.from];
        if (diff === undefined || from === undefined) continue;
        const [v1, v2] = [from.dir, last.dir];
        const scratch = (name: string): string => join(tmp, "scratch", `${spec.key}-${name}`);
        o.log(`${spec.key}: copy + fsync + SHA-256 of changed bytes`);
        const copyFsyncHashSeconds = await copyFsyncHash(v2, diff, scratch("floor-time"));
        const peers = new Map<PeerName, PeerOutcome>();
        const added = unavailable("floor") === null ? await compressAdded(v2, diff, scratch("added")) : null;
        peers.set(
          "floor",
          await attempt(spec.key, "floor", () => zstdFloor(v1, v2, diff, need(added), scratch("zstd"))),
        );
        peers.set(
          "xdelta3",
          await attempt(spec.key, "xdelta3", () =>
            xdelta3PerFile(v1, v2, diff, need(added), scratch("xdelta3")),
          ),
        );
        peers.set("rsync", await attempt(spec.key, "rsync", () => rsyncPeer(v1, v2, diff, scratch("rsync"))));
        peers.set(
          "zsync",
          await attempt(spec.key, "zsync", () => zsyncPeer(v1, v2, diff, server, serveDir, scratch("zsync"))),
        );
        peers.set(
          "casync",
          await attempt(spec.key, "casync", () =>
            casyncPeer(v1, v2, diff, server, serveDir, scratch("casync")),
          ),
        );
        peers.set(
          "zstd tar",
          await attempt(spec.key, "zstd tar", async () =>
            zstdTarPatch(await tarFor(spec.from), await tarFor(lastIndex), scratch("tar")),
          ),
        );
        pairs.push({ spec, diff, peers, copyFsyncHashSeconds });
      }
      await rm(tars, { recursive: true, force: true });
      results.push({ spec: series, ferry, fresh, pairs });
    }
    const markdown = report({
      series: results,
      versions: toolVersions(),
      notes,
      command: o.command,
      loadBefore,
      loadAfter: loadavg(),
      seconds: (performance.now() - started) / 1000,
    });
    return { series: results, markdown };
  } finally {
    await server.close();
    await rm(tmp, { recursive: true, force: true });
  }
}
