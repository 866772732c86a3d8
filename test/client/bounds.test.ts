import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { promisify } from "node:util";
import { CASES } from "./bounds-cases.js";

const run = promisify(execFile);
const script = fileURLToPath(new URL("./bounds-cases.js", import.meta.url));
/** Per case, generous for a loaded 2-core machine (unloaded, the slowest takes about 1.5 s). */
const MAX_MS = Number(process.env["FERRY_BOUNDS_MAX_MS"] ?? "15000");
/** Peak RSS growth, garbage included (a walk that does not cache decodes shared objects again). */
const MAX_RSS_MIB = 192;
const HEAP_MIB = 256;

test(`hostile-but-signed metadata and archives: ${CASES.length} cases, each bounded in time and memory`, async (t) => {
  const results: { name: string; code: string; ms: number; rssGrowthMiB: number }[] = [];
  const next = { i: 0 };
  const worker = async () => {
    for (let i = next.i++; i < CASES.length; i = next.i++) {
      const c = CASES[i]!;
      // Its own process with a small heap: a case that would allocate without bound dies instead.
      const { stdout } = await run(
        process.execPath,
        [`--max-old-space-size=${HEAP_MIB}`, "--expose-gc", script, String(i)],
        { timeout: MAX_MS * 4, maxBuffer: 1 << 20 },
      ).catch((error: Error) => {
        throw new Error(`${c.name}: the child failed (killed, out of memory or crashed): ${error.message}`);
      });
      results[i] = {
        name: c.name,
        ...(JSON.parse(stdout) as { code: string; ms: number; rssGrowthMiB: number }),
      };
    }
  };
  await Promise.all([worker(), worker()]);
  for (const r of results) t.diagnostic(`${r.name}: ${r.code}, ${r.ms} ms, peak RSS +${r.rssGrowthMiB} MiB`);
  for (const [i, r] of results.entries()) {
    const c = CASES[i]!;
    assert.equal(r.code, c.expect, r.name);
    assert.ok(r.ms <= MAX_MS, `${r.name}: ${r.ms} ms`);
    assert.ok(r.rssGrowthMiB <= MAX_RSS_MIB, `${r.name}: +${r.rssGrowthMiB} MiB`);
  }
  const refused = results.filter((r) => r.code !== "ok").length;
  t.diagnostic(`${CASES.length} cases: ${refused} refused, ${CASES.length - refused} accepted within bounds`);
});
