/**
 * The progress renderer on a fake 60-column terminal: every redraw fits in 59 columns and overwrites the
 * line (\r, clear to end) instead of adding one; the speed is the rate over a sliding window; silent
 * phases (checking, planning, scan, chunking) say what runs. Not on a terminal: no bars, one line per phase.
 */
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { test } from "node:test";
import type { UpdateEvent } from "../../src/client/events.js";
import type { PublishEvent } from "../../src/publisher/publish.js";
import { ProgressRenderer } from "../../src/cli/render.js";
import { ferry } from "../helpers/cli.js";
import { repoFixture, writeBuild } from "../helpers/served-repo.js";

const MiB = 1024 * 1024;

function fakeTerminal(columns: number, isTTY = true) {
  const writes: string[] = [];
  let now = 1_000_000;
  const stream = { isTTY, columns, write: (text: string) => writes.push(text) };
  return {
    renderer: new ProgressRenderer(stream, () => now),
    writes,
    advance: (ms: number) => (now += ms),
  };
}

/** The redraws (writes that start with \r), as the text they put on the line (escapes removed). */
function redrawn(writes: readonly string[]): string[] {
  return writes.filter((w) => w.startsWith("\r")).map((w) => w.slice(1).replaceAll("\x1b[K", ""));
}

/** An update: 4 MiB/s for 5 s, then 1 MiB/s for 10 s (the window's speed is 1 MiB/s at the end). */
function updateEvents(term: ReturnType<typeof fakeTerminal>): number {
  const total = 30 * MiB;
  const events: UpdateEvent[] = [
    { type: "phase", phase: "checking", channel: "stable" },
    { type: "phase", phase: "planning", version: "2.0.0-a-rather-long-version-name-for-a-narrow-terminal" },
    {
      type: "plan",
      version: "2.0.0",
      filesToWrite: 120,
      filesToKeep: 3000,
      filesToDelete: 4,
      chunksToFetch: 500,
      deltasToApply: 0,
      downloadBytes: total,
      writeBytes: total,
    },
  ];
  for (const e of events) term.renderer.handle(e);
  let bytes = 0;
  let draws = 0;
  for (let step = 0; step < 150; step++) {
    term.advance(100);
    bytes += step < 50 ? 0.4 * MiB : 0.1 * MiB;
    term.renderer.handle({ type: "download", bytes: Math.round(bytes), totalBytes: total });
    draws++;
  }
  term.renderer.handle({ type: "verify", files: 120 });
  for (let i = 1; i <= 120; i++) {
    term.advance(20);
    term.renderer.handle({ type: "assemble", path: `f${i}`, done: i, total: 120 });
  }
  term.renderer.handle({ type: "commit", moves: 120, deletes: 4 });
  term.renderer.finish();
  return draws;
}

test("update progress on a 60-column terminal: no line longer than 59, no newline per redraw, window speed", () => {
  const term = fakeTerminal(60);
  const draws = updateEvents(term);
  const output = term.writes.join("");
  for (const text of redrawn(term.writes))
    assert.ok(text.length <= 59 && !text.includes("\n"), `${text.length} columns: ${JSON.stringify(text)}`);
  const redraws = term.writes.filter((w) => w.startsWith("\r") && w.length > 4);
  assert.ok(redraws.length >= 100, `the bar is redrawn (${redraws.length} of ${draws} events)`);
  assert.ok(
    redraws.every((w) => !w.includes("\n")),
    "a redraw never adds a line",
  );
  // Only the messages end lines: the plan and the commit.
  assert.equal(output.split("\n").length - 1, 2, JSON.stringify(output.split("\n")));
  const lastBar = redraws.filter((w) => w.includes("MiB /")).at(-1)!;
  assert.match(lastBar, /1\.00 MiB\/s/, `the speed over the last 5 s: ${lastBar}`);
  assert.doesNotMatch(lastBar, /2\.00 MiB\/s/, "not the average since the start");
  assert.match(lastBar, /ETA \d+s/);
  assert.ok(
    term.writes.some((w) => w.includes("Planning")),
    "planning is shown",
  );
  assert.ok(
    term.writes.some((w) => w.includes("Verifying")),
    "verifying is shown",
  );
});

test("publish progress on a 60-column terminal: scan, chunking bar inside a large file, uploads", () => {
  const term = fakeTerminal(60);
  const total = 200 * MiB;
  const events: PublishEvent[] = [
    { type: "phase", phase: "scan", buildDir: "/a/very/long/path/to/the/build/directory/of/the/game/build" },
    { type: "scan", files: 2, bytes: total },
    { type: "phase", phase: "chunk", files: 2, bytes: total },
  ];
  for (const e of events) term.renderer.publish(e);
  for (let done = 4 * MiB; done <= total; done += 4 * MiB) {
    term.advance(200);
    term.renderer.publish({
      type: "chunk-progress",
      path: "big.pak",
      bytesDone: done,
      bytesTotal: total,
      chunks: done / (256 * 1024),
      newChunks: done / (512 * 1024),
    });
  }
  term.renderer.publish({ type: "phase", phase: "manifest", files: 2 });
  term.renderer.publish({ type: "upload-stage", stage: "metadata", objects: 2 });
  for (let i = 1; i <= 30; i++) {
    term.advance(150);
    term.renderer.publish({
      type: "upload",
      path: `packs/${i}`,
      bytes: MiB,
      skipped: i % 3 === 0,
      done: i,
      started: 30,
    });
  }
  term.renderer.finish();
  const output = term.writes.join("");
  for (const text of redrawn(term.writes)) assert.ok(text.length <= 59, JSON.stringify(text));
  assert.ok(
    term.writes.some((w) => w.startsWith("\rScanning /a/very")),
    "the scan is shown while it runs",
  );
  const chunking = term.writes.filter((w) => w.startsWith("\r") && w.includes("Chunking "));
  assert.ok(chunking.length >= 40, `chunking progress drawn (${chunking.length})`);
  assert.match(chunking.at(-1)!, /200\.0 MiB \/ 200\.0 MiB/);
  assert.match(chunking.at(-1)!, /20\.0 MiB\/s/, "4 MiB per 200 ms");
  assert.equal(output.split("\n").length - 1, 2, "lines: the chunking start and the upload stage");
});

test("not a terminal: no bars, no carriage returns, one line per phase", () => {
  const term = fakeTerminal(60, false);
  updateEvents(term);
  const output = term.writes.join("");
  assert.doesNotMatch(output, /\r/);
  assert.doesNotMatch(output, /\[#/);
  const lines = output.trimEnd().split("\n");
  assert.deepEqual(
    lines.map((l) => l.split(" ")[0]),
    ["Planning", "Updating", "Verifying", "Applying:"],
  );
});

test("the CLI's progress on stderr when it is not a terminal: the phases as lines, no bars", async (t) => {
  const s = await repoFixture(t);
  const build = join(s.dir, "build");
  await writeBuild(build, { "a.bin": randomBytes(6 * MiB), "b.txt": "b" });
  const key = join(s.dir, "release.key");
  assert.equal((await ferry("keygen", s.dir, "--name", "release")).code, 0);
  const published = await ferry("publish", build, "--repo", s.repo, "--version", "1.0.0", "--key", key);
  assert.equal(published.code, 0, published.stderr);
  assert.doesNotMatch(published.stderr, /\r/);
  assert.match(published.stderr, /^Scanning .*build…$/m);
  assert.match(published.stderr, /^Chunking and compressing 2 file\(s\), 6\.00 MiB\.$/m);
  const pub = join(s.dir, "release.pub");
  const updated = await ferry("update", s.url, join(s.dir, "game"), "--trust", pub);
  assert.equal(updated.code, 0, updated.stderr);
  assert.doesNotMatch(updated.stderr, /\r/);
  assert.match(updated.stderr, /^Planning the update to 1\.0\.0: .*\nUpdating to 1\.0\.0: /);
});
