import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { urlKind } from "../../bench/counting-server.js";
import { goalRows, KIB, type PairFigures } from "../../bench/issue16-goals.js";
import { rsyncReceived } from "../../bench/issue16-peers.js";
import { hasCommand } from "../../bench/issue16-run.js";

const ISSUE16 = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bench", "issue16.js");

const peer = (bytes: number, publishSeconds = 1): PairFigures["floor"] => ({
  bytes,
  requests: 1,
  updateSeconds: 1,
  updateRssMiB: 1,
  publishSeconds,
  publishRssMiB: 1,
});

function figures(over: Partial<PairFigures> = {}): PairFigures {
  return {
    updateBytes: 10_000,
    updateSeconds: 1,
    freshBytes: 1000,
    freshSeconds: 1,
    coldPublishSeconds: 1,
    republishSeconds: 1,
    floor: peer(10_000),
    peers: new Map([
      ["xdelta3", peer(20_000)],
      ["casync", peer(50_000, 4)],
      ["zstd tar", peer(9_000)],
    ]),
    tarZstd: peer(1000),
    copySyncSeconds: 1,
    copyFsyncHashSeconds: 1,
    casyncMakeSeconds: 4,
    farHop: false,
    smallChange: false,
    ...over,
  };
}

const verdict = (f: PairFigures, goal: string): string | undefined =>
  goalRows(f).find((r) => r.goal.startsWith(goal))?.verdict;

test("the floor goal is 1.15× the floor + 4 KiB, inclusive", () => {
  const limit = 1.15 * 10_000 + 4 * KIB;
  assert.equal(verdict(figures({ updateBytes: limit }), "update bytes ≤ 1.15×"), "met");
  assert.equal(verdict(figures({ updateBytes: limit + 1 }), "update bytes ≤ 1.15×"), "NOT met");
  assert.equal(verdict(figures({ floor: { na: "zstd absent" } }), "update bytes ≤ 1.15×"), "n/a");
});

test("Ferry must be strictly below the smallest peer, and a missing peer is named", () => {
  assert.equal(verdict(figures({ updateBytes: 8_999 }), "update bytes below"), "met");
  assert.equal(verdict(figures({ updateBytes: 9_000 }), "update bytes below"), "NOT met");
  const peers = new Map([
    ["xdelta3", peer(20_000)],
    ["rsync", { na: "rsync absent" }],
  ]);
  const row = goalRows(figures({ updateBytes: 15_000, peers })).find((r) => r.goal.includes("below"));
  assert.equal(row?.verdict, "met");
  assert.match(row?.limit ?? "", /not measured: rsync/);
});

test("far-hop and republish goals appear only on their pairs, computed from casync and zstd tar", () => {
  assert.equal(verdict(figures(), "far hop"), undefined);
  assert.equal(verdict(figures(), "republish"), undefined);
  // 0.6 × casync 50,000 = 30,000; 1.25 × zstd tar 9,000 = 11,250.
  const far = figures({ farHop: true, updateBytes: 11_250 });
  assert.equal(verdict(far, "far hop bytes ≤ 0.6× casync"), "met");
  assert.equal(verdict(far, "far hop bytes ≤ 1.25×"), "met");
  assert.equal(verdict(figures({ farHop: true, updateBytes: 11_251 }), "far hop bytes ≤ 1.25×"), "NOT met");
  assert.equal(verdict(figures({ smallChange: true, republishSeconds: 4 }), "republish"), "met");
  assert.equal(verdict(figures({ smallChange: true, republishSeconds: 4.01 }), "republish"), "NOT met");
  assert.equal(verdict(figures({ coldPublishSeconds: 8.01 }), "cold publish"), "NOT met");
  assert.equal(verdict(figures({ casyncMakeSeconds: Number.NaN }), "cold publish"), "n/a");
});

test("time goals compare with twice the baselines measured in the same run", () => {
  assert.equal(verdict(figures({ updateSeconds: 2 }), "update time"), "met");
  assert.equal(verdict(figures({ updateSeconds: 2.01 }), "update time"), "NOT met");
  assert.equal(verdict(figures({ freshSeconds: 2.01 }), "fresh install time"), "NOT met");
  assert.equal(verdict(figures({ freshBytes: 1051 }), "fresh install bytes"), "NOT met");
  assert.equal(verdict(figures({ freshBytes: 1050 }), "fresh install bytes"), "met");
});

test("URL kinds: packs/ is payload, repository metadata areas are named, peers' files are other", () => {
  assert.equal(urlKind("/ferry-x/packs/ab.pack"), "packs");
  assert.equal(urlKind("/ferry-x/channels/stable.json?x=1"), "channels");
  assert.equal(urlKind("/ferry-x/root/2.json"), "root");
  assert.equal(urlKind("/ferry-x/manifests/ab"), "manifests");
  assert.equal(urlKind("/ferry-x/objects/ab"), "objects");
  assert.equal(urlKind("/zsync-1/f0.zsync"), "other");
});

test("rsync --stats: the client's received bytes, with thousands separators", () => {
  assert.equal(rsyncReceived("Total bytes sent: 99\nTotal bytes received: 1,234,567\n"), 1_234_567);
  assert.throws(() => rsyncReceived("nothing"), /Total bytes received/);
});

/** `| **Ferry** | 7,401 | 4 | 2,525 B / 1 req + 4,876 B / 3 req | ...` -> numbers. */
function ferryRow(markdown: string, heading: string): number[] {
  const section = markdown.slice(markdown.indexOf(heading));
  const line = section.split("\n").find((l) => l.startsWith("| **Ferry**"));
  assert.ok(line, `no Ferry row after ${heading}`);
  const cells = line.split("|").map((c) => c.trim());
  const num = (s: string): number => Number(s.replace(/,/g, ""));
  const split = /^([\d,]+) B \/ (\d+) req \+ ([\d,]+) B \/ (\d+) req$/.exec(cells[4] ?? "");
  assert.ok(split, `no payload/metadata split in ${line}`);
  return [num(cells[2] ?? ""), num(cells[3] ?? ""), ...split.slice(1).map(num)];
}

test("smoke: the bench runs end to end on a tiny generated pair and writes FERRY_BENCH_OUT", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "ferry-issue16-test-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const out = join(dir, "report.md");
  const child = spawn(process.execPath, [ISSUE16], {
    env: {
      ...process.env,
      FERRY_BENCH_SERIES: "generated",
      FERRY_BENCH_GENERATED: "20",
      FERRY_BENCH_OUT: out,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  assert.equal(code, 0, stderr);
  assert.equal(await readFile(out, "utf8"), stdout);
  for (const [heading, kind] of [
    ["#### Update", "update"],
    ["#### Fresh install", "fresh install"],
  ] as const) {
    const [wire = 0, requests = 0, payload = 0, payloadRequests = 0, metadata = 0, metadataRequests = 0] =
      ferryRow(stdout, heading);
    assert.ok(payload > 0 && metadata > 0, `${kind}: payload and metadata both counted`);
    assert.equal(payload + metadata, wire, `${kind}: the split adds up to the wire bytes`);
    assert.equal(payloadRequests + metadataRequests, requests, `${kind}: requests add up`);
  }
  // Each peer ran (its tool is installed) or says why not; none failed.
  const peers: [string, string[]][] = [
    ["floor: zstd", ["zstd"]],
    ["xdelta3 -9", ["xdelta3"]],
    ["rsync -az", ["rsync"]],
    ["zsync per file", ["zsync", "zsyncmake"]],
    ["casync", ["casync"]],
    ["zstd --patch-from of the two tars", ["zstd"]],
  ];
  for (const [label, tools] of peers) {
    const line = stdout.split("\n").find((l) => l.startsWith(`| ${label}`));
    assert.ok(line, `row for ${label}`);
    if (tools.every(hasCommand)) assert.match(line, /^\| [^|]+ \| [\d,]+ \| \d+ \|/, line);
    else assert.match(line, /apt-get install/, line);
  }
  assert.doesNotMatch(stdout, /failed:/);
  const goals = stdout.slice(stdout.indexOf("### Goals"));
  for (const goal of [
    "update bytes ≤ 1.15× floor",
    "below every peer",
    "fresh install bytes",
    "update time",
    "republish",
  ])
    assert.ok(goals.includes(goal), `goal row ${goal}`);
});
