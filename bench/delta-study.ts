/**
 * Delta study on the real corpus: for every file that changed between two versions, the size of Ferry's
 * binary delta beside `zstd -19 --long=27 --patch-from` (when zstd is installed) and the new file
 * compressed whole with Brotli 11. Run: npm run build && node dist/bench/delta-study.js [old-dir new-dir]
 * FERRY_DELTA_QUALITY (default 11) sets the Brotli quality of the delta windows.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { brotli } from "../src/node/node-codec.js";
import { encodeDelta } from "../src/core/delta-encode.js";
import { nodeBrotli } from "../src/node/node-codec.js";

const corpus = join(import.meta.dirname, "..", "..", "..", "shared", "corpus", "shattered-pixel-dungeon");
const [oldDir = join(corpus, "v3.0.0"), newDir = join(corpus, "v3.2.5")] = process.argv.slice(2);

function files(root: string, dir = root): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(root, join(dir, e.name)) : [relative(root, join(dir, e.name))],
  );
}

function hasZstd(): boolean {
  try {
    execFileSync("zstd", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const quality = Number(process.env.FERRY_DELTA_QUALITY ?? "11");
const zstd = hasZstd();
const tmp = mkdtempSync(join(tmpdir(), "ferry-delta-study-"));
const totals = { files: 0, bytes: 0, ferry: 0, zstd: 0, whole: 0, best: 0, ms: 0 };
for (const path of files(newDir)) {
  let before: Buffer;
  try {
    before = readFileSync(join(oldDir, path));
  } catch {
    continue; // added files have no delta
  }
  const after = readFileSync(join(newDir, path));
  if (before.equals(after)) continue;
  const started = performance.now();
  const delta = encodeDelta(nodeBrotli, before, after, quality).length;
  totals.ms += performance.now() - started;
  const whole = brotli(after, 11).length;
  let patch = 0;
  if (zstd) {
    const out = join(tmp, "p.zst");
    execFileSync(
      "zstd",
      ["-q", "-f", "-19", "--long=27", `--patch-from=${join(oldDir, path)}`, join(newDir, path), "-o", out],
      { stdio: ["ignore", "ignore", "ignore"] },
    ); // zstd prints tuning advice for every --patch-from
    patch = statSync(out).size;
  }
  totals.files++;
  totals.bytes += after.length;
  totals.ferry += delta;
  totals.zstd += patch;
  totals.whole += whole;
  totals.best += Math.min(delta, whole);
}
rmSync(tmp, { recursive: true, force: true });
writeFileSync(
  1,
  `${JSON.stringify({ oldDir, newDir, quality, ...totals, ms: Math.round(totals.ms) }, null, 2)}\n`,
);
console.log(
  `changed files ${totals.files} (${totals.bytes} B): ferry delta ${totals.ferry} B, min(delta, whole) ${totals.best} B` +
    (zstd
      ? `, zstd --patch-from ${totals.zstd} B (ferry/zstd ${(totals.ferry / totals.zstd).toFixed(2)}x)`
      : "") +
    `, brotli-11 whole ${totals.whole} B; encode ${Math.round(totals.ms)} ms`,
);
