import "../../src/register-node.js";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { update, type UpdateSummary } from "../../src/client/ops/update.js";
import { buildReport } from "../../src/publisher/report.js";
import { pseudoRandom } from "../../src/testing/game-fixture.js";
import { startThrottledProxy } from "../../src/testing/throttled-proxy.js";
import { ferry } from "../helpers/cli.js";
import { repoFixture } from "../helpers/served-repo.js";

/** A build of `base` files (data/…) and `hd` files (hd/…), each file its own pseudo-random bytes. */
function build(version: string, base: number, hd: number, removed: ReadonlySet<number> = new Set()) {
  const files: Record<string, Uint8Array> = {};
  for (let i = 0; i < base; i++)
    if (!removed.has(i))
      files[`data/f${i}.bin`] = pseudoRandom(`base-${i}-${i % 3 === 0 ? version : ""}`, 3000 + 97 * i);
  for (let i = 0; i < hd; i++) files[`hd/t${i}.bin`] = pseudoRandom(`hd-${i}`, 20_000 + 311 * i);
  return files;
}

const HD_OPTIONAL = {
  format: 1,
  type: "ferry-packages",
  packages: { hd: { optional: true } },
  rules: [{ match: "hd/**", package: "hd" }],
};

test("report counts packages and deletions as clients do: fresh install without optional packages, files moved out of the selection deleted (bytes counted at the server)", async (t) => {
  const served = await repoFixture(t);
  const { dir, repo } = served;
  const dates = { expiresInDays: 36500, rootExpiresInDays: 36500 };
  // 1.0.0: everything in base. 2.0.0: hd/** becomes an optional package, 3 base files removed, some changed.
  await served.publish(build("1", 12, 6), {
    version: "1.0.0",
    created: new Date(Date.UTC(2026, 0, 1)),
    ...dates,
  });
  const onV1 = join(dir, "on-v1");
  await served.update(onV1);
  await served.publish(build("2", 12, 6, new Set([1, 2, 4])), {
    version: "2.0.0",
    packages: HD_OPTIONAL,
    created: new Date(Date.UTC(2026, 0, 2)),
    ...dates,
  });

  const report = await buildReport({ repo });
  const channel = report.channels[0]!;
  const latest = channel.releases[0]!;
  assert.equal(latest.version, "2.0.0");
  assert.equal(latest.files, 9 + 6, "the whole release: base and hd");
  assert.equal(latest.installFiles, 9, "a default install holds base only");
  assert.equal(
    latest.installBytes,
    latest.packages.find((p) => p.name === "base")!.bytes,
    "install size is the base package's",
  );
  const rows = new Map(channel.updates.map((u) => [u.from ?? "", u]));
  assert.deepEqual([...rows.keys()], ["1.0.0", ""]);

  // Real clients through a counting proxy: what the server sends is what the report promised.
  const proxy = await startThrottledProxy(served.url, { bytesPerTick: 1 << 24, tickMs: 1 });
  t.after(() => proxy.close());
  const measure = async (installDir: string): Promise<{ summary: UpdateSummary; served: number }> => {
    const before = proxy.bytesSent();
    const summary = await update({ repoUrl: proxy.url, installDir, trust: [served.pub] });
    return { summary, served: proxy.bytesSent() - before };
  };
  const runs = new Map([
    ["1.0.0", await measure(onV1)],
    ["", await measure(join(dir, "fresh"))],
  ]);
  for (const [from, { summary, served: bytes }] of runs) {
    const row = rows.get(from)!;
    t.diagnostic(
      `from ${from || "nothing"}: report ${row.filesWritten} written, ${row.filesDeleted} deleted, ${row.totalBytes} B; client ${summary.filesWritten} written, ${summary.filesDeleted} deleted, ${summary.bytesDownloaded} B; server sent ${bytes} B`,
    );
    assert.equal(summary.version, "2.0.0");
    assert.equal(row.filesWritten, summary.filesWritten, `files written from ${from || "nothing"}`);
    assert.equal(row.filesDeleted, summary.filesDeleted, `files deleted from ${from || "nothing"}`);
    assert.deepEqual(row.packages, summary.packages, `packages after the update from ${from || "nothing"}`);
    assert.equal(row.metadataBytes, summary.metadataBytes, `metadata from ${from || "nothing"}`);
    assert.equal(row.requests, summary.requests, `requests from ${from || "nothing"}`);
    // Beyond the report's total the server sends only multipart framing (under 200 bytes a range) and the
    // small 404 body of the probe for a newer root (root/<n+1>.json), which the client does not count.
    const extra = bytes - row.totalBytes;
    assert.ok(extra >= 0 && extra <= 200 * row.ranges + 64, `extra from ${from || "nothing"}: ${extra}`);
    assert.ok(bytes >= summary.bytesDownloaded);
  }
  // The fresh install fetched no optional byte: under the base package's size in packs.
  assert.equal(rows.get("")!.filesWritten, 9);
  const hdBytes = latest.packages.find((p) => p.name === "hd")!.bytes;
  t.diagnostic(`fresh payload ${rows.get("")!.payloadBytes}, base ${latest.installBytes}, hd ${hdBytes}`);
  assert.ok(rows.get("")!.payloadBytes < latest.bytes - hdBytes / 2, "no optional byte in a fresh install");
  // The player on 1.0.0 loses at least the 3 removed files (the hd files too, while the client drops
  // files moved into an optional package it did not choose: docs/PACKAGES.md).
  const fromV1 = rows.get("1.0.0")!;
  assert.ok(fromV1.filesDeleted >= 3, `deleted from 1.0.0: ${fromV1.filesDeleted}`);

  // The CLI's page shows the same figures.
  const out = join(dir, "report.html");
  const cli = await ferry("report", "--repo", repo, "--out", out);
  assert.equal(cli.code, 0, cli.stderr);
  const html = await readFile(out, "utf8");
  assert.ok(html.includes(`data-install-files="9"`), "page shows the default install's file count");
  assert.ok(html.includes(`data-deleted="${fromV1.filesDeleted}"`), "page shows the deletions");
});
