/**
 * Issue 16's benchmark: Ferry beside its peers (per-file zstd patches = the floor, xdelta3, rsync, zsync,
 * casync, whole-tree zstd --patch-from, tar | zstd) on the shared corpus, with the issue's goal rows
 * computed from the numbers. Prints markdown on stdout (progress on stderr) and writes it to
 * $FERRY_BENCH_OUT when set.
 *
 *   npm run bench                              # build, then this (73 min on the 2 shared cores at load ~20; idle not measured)
 *   FERRY_BENCH_OUT=/tmp/issue16.md node dist/bench/issue16.js
 *
 * Environment:
 *   FERRY_BENCH_SERIES         comma list of spd, openrct2, generated (default spd,openrct2)
 *   FERRY_BENCH_GENERATED      file count of the generated loose-tree pair (default 2000; series "generated")
 *   FERRY_BENCH_SKIP           comma list of peers not to run: floor, xdelta3, rsync, zsync, casync, zstd tar
 *   FERRY_BENCH_DELTA_HISTORY  deltaHistory for every Ferry publish (default: Ferry's own default)
 *   FERRY_BENCH_CORPUS         the corpus directory (default ../shared/corpus beside the repository)
 *
 * Missing tools: `apt-get install xdelta3 rsync casync zsync zstd`; a peer whose tool is absent is skipped
 * and the report says so. Everything runs under os.tmpdir() and is removed at the end.
 */
import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { makeLooseTree } from "./peers-fixtures.js";
import { PEER_NAMES, runIssue16, type SeriesSpec } from "./issue16-run.js";

const REPO_ROOT = join(fileURLToPath(import.meta.url), "..", "..", "..");
const env = (name: string): string | undefined => {
  const v = process.env[name];
  return v === undefined || v === "" ? undefined : v;
};
const list = (name: string, fallback: string): string[] =>
  (env(name) ?? fallback)
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
const positiveInt = (name: string, fallback: number, min: number): number => {
  const raw = env(name);
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}, got ${raw}`);
  return n;
};

const CORPUS = resolve(env("FERRY_BENCH_CORPUS") ?? join(REPO_ROOT, "..", "shared", "corpus"));
const SERIES = list("FERRY_BENCH_SERIES", "spd,openrct2");
const SKIP = new Set(list("FERRY_BENCH_SKIP", ""));
for (const name of SKIP)
  if (!(PEER_NAMES as readonly string[]).includes(name))
    throw new Error(`FERRY_BENCH_SKIP: unknown peer "${name}" (peers: ${PEER_NAMES.join(", ")})`);
const GENERATED = positiveInt("FERRY_BENCH_GENERATED", 2000, 10);
const DELTA_HISTORY =
  env("FERRY_BENCH_DELTA_HISTORY") === undefined ? undefined : positiveInt("FERRY_BENCH_DELTA_HISTORY", 3, 0);
const OUT = env("FERRY_BENCH_OUT");

const started = performance.now();
const log = (line: string): void => {
  process.stderr.write(`[issue16 ${((performance.now() - started) / 1000).toFixed(1)}s] ${line}\n`);
};

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const fixtures = await mkdtemp(join(tmpdir(), "ferry-issue16-fixtures-"));
  try {
    const series: SeriesSpec[] = [];
    const missing: string[] = [];
    for (const key of SERIES) {
      if (key === "spd") {
        const root = join(CORPUS, "shattered-pixel-dungeon");
        const releases = ["v3.0.0", "v3.2.5"].map((v) => ({ version: v.slice(1), dir: join(root, v) }));
        if (!(await Promise.all(releases.map((r) => isDir(r.dir)))).every(Boolean)) {
          missing.push(`Shattered Pixel Dungeon not found under ${root}`);
          continue;
        }
        series.push({
          key: "spd",
          label: "Shattered Pixel Dungeon (few large files)",
          releases,
          pairs: [{ key: "spd", label: "SPD v3.0.0→v3.2.5", from: 0, smallChange: false, farHop: false }],
        });
      } else if (key === "openrct2") {
        const root = join(CORPUS, "openrct2-objects");
        const releases = ["v1.4.0", "v1.7.9", "v1.7.10"].map((v) => ({
          version: v.slice(1),
          dir: join(root, v),
        }));
        if (!(await Promise.all(releases.map((r) => isDir(r.dir)))).every(Boolean)) {
          missing.push(`OpenRCT2 objects not found under ${root}`);
          continue;
        }
        series.push({
          key: "openrct2",
          label: "OpenRCT2 objects (4,450 small JSON and PNG files), published v1.4.0, v1.7.9, v1.7.10",
          releases,
          pairs: [
            {
              key: "rct-bugfix",
              label: "OpenRCT2 v1.7.9→v1.7.10 (bugfix)",
              from: 1,
              smallChange: true,
              farHop: false,
            },
            {
              key: "rct-far",
              label: "OpenRCT2 v1.4.0→v1.7.10 (far hop)",
              from: 0,
              smallChange: false,
              farHop: true,
            },
          ],
        });
      } else if (key === "generated") {
        const dir = join(fixtures, "loose");
        await mkdir(dir, { recursive: true });
        log(`generated: ${GENERATED} files`);
        const detail = await makeLooseTree(dir, GENERATED, 20261202);
        series.push({
          key: "generated",
          label: `Generated loose tree (${detail})`,
          releases: [
            { version: "1.0.0", dir: join(dir, "v1") },
            { version: "2.0.0", dir: join(dir, "v2") },
          ],
          pairs: [
            {
              key: "loose",
              label: `loose tree ${GENERATED} files`,
              from: 0,
              smallChange: true,
              farHop: false,
            },
          ],
        });
      } else throw new Error(`FERRY_BENCH_SERIES: unknown series "${key}" (spd, openrct2, generated)`);
    }
    for (const m of missing) log(`skipped: ${m}`);
    const vars = [
      ["FERRY_BENCH_SERIES", env("FERRY_BENCH_SERIES")],
      ["FERRY_BENCH_GENERATED", env("FERRY_BENCH_GENERATED")],
      ["FERRY_BENCH_SKIP", env("FERRY_BENCH_SKIP")],
      ["FERRY_BENCH_DELTA_HISTORY", env("FERRY_BENCH_DELTA_HISTORY")],
    ]
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${v} `)
      .join("");
    const run = await runIssue16({
      series,
      skip: SKIP,
      ...(DELTA_HISTORY === undefined ? {} : { deltaHistory: DELTA_HISTORY }),
      log,
      command: `npm run build && ${vars}node dist/bench/issue16.js`,
    });
    const markdown = run.markdown + (missing.length ? `\nSkipped series: ${missing.join("; ")}.\n` : "");
    process.stdout.write(markdown);
    if (OUT !== undefined) {
      await writeFile(OUT, markdown);
      log(`wrote ${OUT}`);
    }
  } finally {
    await rm(fixtures, { recursive: true, force: true });
  }
}

await main();
