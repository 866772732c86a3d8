/**
 * Markdown for the issue-16 benchmark: per series what Ferry published; per pair the update bytes,
 * requests, times and peak RSS of Ferry and every peer with Ferry's ratio to each; the fresh install and
 * publish references; and the goal rows (bench/issue16-goals.ts) computed from those numbers.
 */
import { cpus } from "node:os";
import type { FerryCall, FerrySeries, Traffic } from "./issue16-ferry.js";
import { type GoalRow, goalRows } from "./issue16-goals.js";
import { isNa, type PeerFigures, type PeerNa, type PeerOutcome } from "./issue16-peers.js";
import type { PairResult, SeriesResult } from "./issue16-run.js";
import type { PublishResult } from "../src/index.js";

export interface ReportInput {
  readonly series: readonly SeriesResult[];
  readonly versions: Readonly<Record<string, string>>;
  readonly notes: readonly string[];
  readonly command: string;
  readonly loadBefore: readonly number[];
  readonly loadAfter: readonly number[];
  readonly seconds: number;
}

const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "n/a");
const sec = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : "n/a");
const mib = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : "n/a");
const ratio = (a: number, b: number): string =>
  Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(a / b < 0.1 ? 3 : 2)}×` : "n/a";
const table = (header: readonly string[], rows: readonly (readonly string[])[]): string =>
  [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
const loads = (l: readonly number[]): string => l.map((n) => n.toFixed(2)).join(" / ");

function ferryOf(s: SeriesResult): FerrySeries | null {
  return isNa(s.ferry) ? null : s.ferry;
}

function publishedTable(s: SeriesResult, f: FerrySeries): string {
  const rows = f.publishes.map((p: FerryCall<PublishResult>, i) => {
    const r = p.result;
    return [
      `${r.version}${i === 0 ? " (cold)" : ""}`,
      r.layout,
      int(r.files),
      int(r.chunks),
      int(r.newChunks),
      int(r.deltas),
      int(r.newDeltaBytes),
      `${int(r.metadataObjects)} / ${int(r.newMetadataObjects)}`,
      int(r.manifestBytes),
      sec(p.seconds),
      mib(p.rssMiB),
    ];
  });
  const c = f.cold;
  rows.push([
    `${c.result.version} (cold, empty repository)`,
    c.result.layout,
    int(c.result.files),
    int(c.result.chunks),
    int(c.result.newChunks),
    int(c.result.deltas),
    int(c.result.newDeltaBytes),
    `${int(c.result.metadataObjects)} / ${int(c.result.newMetadataObjects)}`,
    int(c.result.manifestBytes),
    sec(c.seconds),
    mib(c.rssMiB),
  ]);
  return (
    `What Ferry published for ${s.spec.label} (in this order, one repository, ${s.spec.releases.length} releases):\n\n` +
    table(
      [
        "release",
        "layout",
        "files",
        "chunks",
        "new chunks",
        "deltas listed",
        "new delta bytes",
        "tree objects / new",
        "manifest B",
        "publish s",
        "peak RSS MiB",
      ],
      rows,
    )
  );
}

function trafficCells(t: Traffic): [string, string, string] {
  return [
    int(t.wire),
    int(t.requests),
    `${int(t.payloadWire)} B / ${int(t.payloadRequests)} req + ${int(t.metadataWire)} B / ${int(t.metadataRequests)} req`,
  ];
}

const PEER_LABEL: Readonly<Record<string, string>> = {
  floor: "floor: zstd -19 --long=27 --patch-from per file",
  xdelta3: "xdelta3 -9 per file",
  rsync: "rsync -az (daemon on loopback)",
  zsync: "zsync per file",
  casync: "casync",
  "zstd tar": "zstd --patch-from of the two tars",
};

function updateTable(s: SeriesResult, p: PairResult): string {
  const f = ferryOf(s);
  const u = f?.updates.get(p.spec.from);
  const rows: string[][] = [];
  if (u === undefined)
    rows.push([
      "**Ferry**",
      `n/a (${isNa(s.ferry) ? s.ferry.na : "not run"})`,
      "",
      "",
      "",
      "",
      "",
      "",
      "",
      "",
    ]);
  else
    rows.push([
      "**Ferry**",
      ...trafficCells(u.traffic),
      "1×",
      sec(u.seconds),
      mib(u.rssMiB),
      f === null ? "n/a" : sec(f.publishes.at(-1)?.seconds ?? Number.NaN),
      f === null ? "n/a" : mib(f.publishes.at(-1)?.rssMiB ?? Number.NaN),
      "1× / 1× / 1×",
    ]);
  const ferryPublish = f?.publishes.at(-1)?.seconds ?? Number.NaN;
  for (const [name, o] of p.peers) {
    const label = PEER_LABEL[name] ?? name;
    if (isNa(o)) {
      rows.push([label, `n/a (${o.na})`, "", "", "", "", "", "", "", ""]);
      continue;
    }
    const fb = u?.traffic.wire ?? Number.NaN;
    rows.push([
      label + (o.note ? ` (${o.note})` : ""),
      int(o.bytes),
      int(o.requests),
      "",
      ratio(fb, o.bytes),
      sec(o.updateSeconds),
      mib(o.updateRssMiB),
      sec(o.publishSeconds),
      mib(o.publishRssMiB),
      `${ratio(u?.seconds ?? Number.NaN, o.updateSeconds)} / ${ratio(u?.rssMiB ?? Number.NaN, o.updateRssMiB)} / ${ratio(ferryPublish, o.publishSeconds)}`,
    ]);
  }
  rows.push([
    "copy + fsync + SHA-256 of changed bytes",
    "",
    "",
    "",
    "",
    sec(p.copyFsyncHashSeconds),
    "",
    "",
    "",
    ratio(u?.seconds ?? Number.NaN, p.copyFsyncHashSeconds),
  ]);
  return table(
    [
      "method",
      "update bytes",
      "requests",
      "Ferry payload (packs/) + metadata (channels/ root/ manifests/ objects/)",
      "Ferry ÷ method, bytes",
      "update s",
      "update peak RSS MiB",
      "publish s",
      "publish peak RSS MiB",
      "Ferry ÷ method: update s / update RSS / publish s",
    ],
    rows,
  );
}

function freshTable(s: SeriesResult): string {
  const f = ferryOf(s);
  const rows: string[][] = [];
  const tar: PeerOutcome = isNa(s.fresh) ? s.fresh : s.fresh.tarZstd;
  const copy = isNa(s.fresh) ? null : s.fresh.copy;
  if (f === null) rows.push(["**Ferry**", "n/a", "", "", "", "", "", ""]);
  else
    rows.push([
      "**Ferry** fresh install",
      ...trafficCells(f.fresh.traffic),
      sec(f.fresh.seconds),
      mib(f.fresh.rssMiB),
      "1×",
      "1× / 1×",
    ]);
  const fb = f?.fresh.traffic.wire ?? Number.NaN;
  const fs = f?.fresh.seconds ?? Number.NaN;
  const fr = f?.fresh.rssMiB ?? Number.NaN;
  if (isNa(tar)) rows.push(["tar \\| zstd -19 --long=27", `n/a (${tar.na})`, "", "", "", "", "", ""]);
  else
    rows.push([
      "tar \\| zstd -19 --long=27 (zstd -d \\| tar -x, sync)",
      int(tar.bytes),
      "1",
      "",
      sec(tar.updateSeconds),
      mib(tar.updateRssMiB),
      ratio(fb, tar.bytes),
      `${ratio(fs, tar.updateSeconds)} / ${ratio(fr, tar.updateRssMiB)}`,
    ]);
  if (copy !== null)
    rows.push([
      "cp -a + sync",
      "",
      "",
      "",
      sec(copy.seconds),
      mib(copy.rssMiB),
      "",
      `${ratio(fs, copy.seconds)} / ${ratio(fr, copy.rssMiB)}`,
    ]);
  return table(
    [
      "method",
      "install bytes",
      "requests",
      "Ferry payload + metadata",
      "install s",
      "install peak RSS MiB",
      "Ferry ÷ method, bytes",
      "Ferry ÷ method, s / RSS",
    ],
    rows,
  );
}

function publishTable(s: SeriesResult): string {
  const f = ferryOf(s);
  const casync = s.pairs
    .map((p) => p.peers.get("casync"))
    .find((o): o is PeerFigures => o !== undefined && !isNa(o));
  const rows: string[][] = [];
  const cs = casync?.publishSeconds ?? Number.NaN;
  const cr = casync?.publishRssMiB ?? Number.NaN;
  const last = s.spec.releases.at(-1)?.version ?? "?";
  if (f !== null) {
    rows.push([
      `**Ferry** cold publish of ${last} (empty repository)`,
      sec(f.cold.seconds),
      mib(f.cold.rssMiB),
      ratio(f.cold.seconds, cs),
      ratio(f.cold.rssMiB, cr),
    ]);
    const re = f.publishes.at(-1);
    if (re !== undefined)
      rows.push([
        `**Ferry** republish: ${last} after ${s.spec.releases.at(-2)?.version ?? "?"}`,
        sec(re.seconds),
        mib(re.rssMiB),
        ratio(re.seconds, cs),
        ratio(re.rssMiB, cr),
      ]);
  }
  rows.push(["casync make (timestamps off, empty store)", sec(cs), mib(cr), "1×", "1×"]);
  return table(["publish", "wall s", "peak RSS MiB", "÷ casync make, s", "÷ casync make, RSS"], rows);
}

function pairFigures(s: SeriesResult, p: PairResult): GoalRow[] {
  const f = ferryOf(s);
  const u = f?.updates.get(p.spec.from);
  const casync = p.peers.get("casync");
  const others = new Map([...p.peers].filter(([name]) => name !== "floor"));
  const na: PeerNa = { na: "not measured" };
  return goalRows({
    updateBytes: u?.traffic.wire ?? Number.NaN,
    updateSeconds: u?.seconds ?? Number.NaN,
    freshBytes: f?.fresh.traffic.wire ?? Number.NaN,
    freshSeconds: f?.fresh.seconds ?? Number.NaN,
    coldPublishSeconds: f?.cold.seconds ?? Number.NaN,
    republishSeconds: f?.publishes.at(-1)?.seconds ?? Number.NaN,
    floor: p.peers.get("floor") ?? na,
    peers: others,
    tarZstd: isNa(s.fresh) ? s.fresh : s.fresh.tarZstd,
    copySyncSeconds: isNa(s.fresh) ? Number.NaN : s.fresh.copy.seconds,
    copyFsyncHashSeconds: p.copyFsyncHashSeconds,
    casyncMakeSeconds: casync === undefined || isNa(casync) ? Number.NaN : casync.publishSeconds,
    farHop: p.spec.farHop,
    smallChange: p.spec.smallChange,
  });
}

export function report(input: ReportInput): string {
  const cpu = cpus();
  const out: string[] = [];
  out.push("## Issue 16: Ferry against its peers on real game updates\n");
  out.push(
    `Generated by \`bench/issue16.ts\` on ${new Date().toISOString()}, single run per figure, in ${input.seconds.toFixed(0)} s. ` +
      `Reproduce from the repository root: \`${input.command}\`. ` +
      `Node ${process.version}, ${process.platform}/${process.arch}, ${cpu.length} × ${cpu[0]?.model.trim() ?? "unknown CPU"}; ` +
      `load average (1/5/15 min) ${loads(input.loadBefore)} at the start, ${loads(input.loadAfter)} at the end ` +
      "(bytes and requests are deterministic; times and RSS depend on the machine's load).\n",
  );
  out.push(
    `Tools: ${Object.entries(input.versions)
      .map(([k, v]) => `${k} \`${v}\``)
      .join("; ")}.\n`,
  );
  out.push(
    "Bytes: Ferry, zsync and casync at the loopback server, status lines and headers included (Ferry: every request of the update, its metadata included); " +
      "rsync: the client's `Total bytes received` of `--stats`; floor, xdelta3 and zstd tar: the patch and compressed files a client would fetch, payload only. " +
      "Times: wall time of the client call (Ferry: the library call in a child process; peers: the decoding or sync command); publish: Ferry's publish of the new release after the old ones, the peers' encoding or indexing. " +
      "Peak RSS: Ferry's child `maxRSS`; peers' GNU time `%M` (largest process; per-file peers: the largest run). " +
      "Each peer rebuilds the new tree and is checked against its SHA-256s.\n",
  );
  for (const s of input.series) {
    out.push(`### ${s.spec.label}\n`);
    out.push(
      table(
        ["pair", "old", "new", "changed / added / removed files", "changed + added bytes"],
        s.pairs.map((p) => [
          p.spec.label,
          `${int(p.diff.v1Files)} files, ${int(p.diff.v1Bytes)} B`,
          `${int(p.diff.v2Files)} files, ${int(p.diff.v2Bytes)} B`,
          `${int(p.diff.changed.length)} / ${int(p.diff.added.length)} / ${int(p.diff.removed.length)}`,
          int(p.diff.changedBytes),
        ]),
      ) + "\n",
    );
    const f = ferryOf(s);
    if (f !== null) out.push(publishedTable(s, f) + "\n");
    else if (isNa(s.ferry)) out.push(`Ferry: ${s.ferry.na}\n`);
    for (const p of s.pairs) {
      out.push(`#### Update ${p.spec.label}\n`);
      if (f !== null) {
        const u = f.updates.get(p.spec.from);
        if (u !== undefined)
          out.push(
            `Ferry applied ${int(u.result.deltasApplied)} deltas (${int(u.result.deltaFallbacks)} fell back to chunks), wrote ${int(u.result.filesWritten)} files, deleted ${int(u.result.filesDeleted)}; ` +
              `body bytes ${int(u.traffic.body)} (wire ${int(u.traffic.wire)}); client-counted ${int(u.result.bytesDownloaded)} B of which metadata ${int(u.result.metadataBytes)} B.\n`,
          );
      }
      out.push(updateTable(s, p) + "\n");
    }
    out.push(`#### Fresh install of ${s.spec.releases.at(-1)?.version ?? "?"}\n`);
    out.push(freshTable(s) + "\n");
    out.push(`#### Publish\n`);
    out.push(publishTable(s) + "\n");
  }
  out.push("### Goals (issue 16), per pair\n");
  const goals: string[][] = [];
  for (const s of input.series)
    for (const p of s.pairs)
      for (const g of pairFigures(s, p))
        goals.push([
          p.spec.label,
          g.goal.replaceAll("|", "\\|"),
          g.measured,
          g.limit,
          g.verdict === "NOT met" ? "**NOT met**" : g.verdict,
        ]);
  out.push(table(["pair", "goal", "measured", "limit", "verdict"], goals) + "\n");
  out.push(
    "Update bytes are Ferry's at the server with headers and metadata; the floor and the per-file peers count payload only. " +
      "Far-hop goals apply to the far hop, the republish goal to the small change (bugfix) pair.\n",
  );
  if (input.notes.length > 0) out.push(`Notes:\n\n${input.notes.map((n) => `- ${n}`).join("\n")}\n`);
  return out.join("\n");
}
