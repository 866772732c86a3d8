import "../../src/register-node.js";
import assert from "node:assert/strict";
import { access, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { chromium } from "playwright-core";
import type { UpdateSummary } from "../../src/client/ops/update.js";
import { writeReport } from "../../src/publisher/report.js";
import { sampleGame } from "../../src/testing/game-fixture.js";
import { ferry } from "../helpers/cli.js";
import type { tempDir } from "../helpers/helpers.js";
import { repoFixture } from "../helpers/served-repo.js";

/** The update matrix as the page shows it: from → payload, metadata, total (bytes). */
type Row = { payload: number; metadata: number; total: number; ranges: number };
function matrixOf(html: string): Map<string, Row> {
  const rows = new Map<string, Row>();
  const pattern =
    /<tr data-from="([^"]*)">[\s\S]*?data-payload="(\d+)"[\s\S]*?data-metadata="(\d+)"[\s\S]*?data-total="(\d+)"[\s\S]*?data-ranges="(\d+)"/g;
  for (const m of html.matchAll(pattern))
    rows.set(m[1]!, {
      payload: Number(m[2]),
      metadata: Number(m[3]),
      total: Number(m[4]),
      ranges: Number(m[5]),
    });
  return rows;
}

for (const layout of ["tree", "inline"] as const) {
  test(`report (${layout} layout): the page's download matrix equals what real client updates download`, async (t) => {
    const served = await repoFixture(t);
    const { dir, repo } = served;
    const installs = [join(dir, "at-v1"), join(dir, "at-v2")];
    for (const v of [1, 2, 3] as const) {
      await served.publish(sampleGame(v), {
        build: `build-v${v}`,
        version: `${v}.0.0`,
        layout,
        created: new Date(Date.UTC(2026, 0, v)),
        expiresInDays: 36500,
        rootExpiresInDays: 36500,
      });
      if (v < 3) await served.update(installs[v - 1]!);
    }
    const out = join(dir, "report.html");
    const data = await writeReport({ repo, out });
    const html = await readFile(out, "utf8");
    assert.deepEqual(
      data.channels[0]!.releases.map((r) => r.version),
      ["3.0.0", "2.0.0", "1.0.0"],
    );
    for (const v of ["1.0.0", "2.0.0", "3.0.0"]) assert.ok(html.includes(`<td>${v}`), `page lists ${v}`);
    assert.ok(!/(src|href)=/.test(html), "no external or linked asset");
    const matrix = matrixOf(html);
    assert.deepEqual([...matrix.keys()], ["1.0.0", "2.0.0", ""]);

    const runs = new Map<string, UpdateSummary>();
    runs.set("1.0.0", await served.update(installs[0]!));
    runs.set("2.0.0", await served.update(installs[1]!));
    runs.set("", await served.update(join(dir, "fresh")));
    for (const [from, result] of runs) {
      const row = matrix.get(from)!;
      assert.equal(result.version, "3.0.0");
      t.diagnostic(
        `from ${from || "nothing"}: report payload ${row.payload} (${row.ranges} ranges) + metadata ${row.metadata}; client ${result.bytesDownloaded - result.metadataBytes} + ${result.metadataBytes} (${result.deltasApplied} deltas)`,
      );
      // The payload is exact up to the multipart framing the client also counts (one part header per
      // range of a multi-range response: under 200 bytes each).
      const framing = result.bytesDownloaded - result.metadataBytes - row.payload;
      assert.ok(framing >= 0 && framing <= 200 * row.ranges, `payload from ${from}: framing ${framing}`);
      assert.equal(row.metadata, result.metadataBytes, `metadata from ${from}`);
      const update = data.channels[0]!.updates.find((u) => (u.from ?? "") === from)!;
      assert.equal(update.requests, result.requests, `requests from ${from}`);
      assert.equal(row.total, row.payload + row.metadata);
    }
    // The CLI writes the same page.
    const cliOut = join(dir, "cli-report.html");
    const cli = await ferry("report", "--repo", repo, "--out", cliOut);
    assert.equal(cli.code, 0, cli.stderr);
    assert.deepEqual(matrixOf(await readFile(cliOut, "utf8")), matrix);
    if (layout === "tree") await renderInChromium(t, out, dir);
  });
}

async function renderInChromium(
  t: Parameters<typeof tempDir>[0] & { skip(m: string): void },
  page: string,
  dir: string,
) {
  const executablePath = await findChromium();
  if (!executablePath) {
    const message =
      "CHROMIUM IS NOT INSTALLED: the report was not rendered. Install Debian's 'chromium' (.ci/run does) or set FERRY_CHROMIUM.";
    if (process.env.CI) assert.fail(message);
    process.stderr.write(`\n!!!!!! ${message}\n\n`);
    return;
  }
  const browser = await chromium.launch({ executablePath });
  t.after(() => browser.close());
  const tab = await browser.newPage();
  const problems: string[] = [];
  tab.on("pageerror", (error) => problems.push(error.message));
  tab.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") problems.push(message.text());
  });
  tab.on("requestfailed", (request) => problems.push(`request failed: ${request.url()}`));
  await tab.goto(`file://${page}`);
  assert.equal(await tab.locator("table.updates tbody tr").count(), 3);
  assert.equal(await tab.locator("svg.chart rect").count(), 3 * 2 + 2);
  const shot = join(dir, "report.png");
  await tab.screenshot({ path: shot, fullPage: true });
  assert.ok((await stat(shot)).size > 0);
  assert.deepEqual(problems, []);
}

async function findChromium(): Promise<string | undefined> {
  for (const path of [process.env.FERRY_CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
    if (!path) continue;
    try {
      await access(path);
      return path;
    } catch {
      // try the next one
    }
  }
  return undefined;
}
