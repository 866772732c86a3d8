/**
 * Scale benchmark (issue 8): a generated release of many small files in deep directories, published
 * locally (tree layout by `auto`), installed, checked with no change, then updated after 10 files change.
 * Prints publish time and peak RSS, and the bytes/requests of the check and of the update, counted at the
 * loopback server. Each library call runs in its own child process (bench/worker.ts) for its peak RSS.
 *
 *   npm run build && node dist/bench/scale.js            # FERRY_SCALE_FILES=500000 (default)
 *   FERRY_SCALE_FILES=20000 node dist/bench/scale.js     # CI-sized
 *   FERRY_SCALE_KEEP=1 ...                               # keep the build, repository and install
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { measureScaleSteps } from "./scale-steps.js";

const FILES = Number(process.env.FERRY_SCALE_FILES ?? 500_000);
if (!Number.isSafeInteger(FILES) || FILES < 100)
  throw new Error("FERRY_SCALE_FILES must be an integer >= 100");
const CHANGED = 10;
const started = performance.now();
const log = (message: string) =>
  console.error(`[scale ${((performance.now() - started) / 1000).toFixed(1)}s] ${message}`);

/** Deep path of file i: 4 directory levels, ~50 files per leaf directory. */
function pathOf(i: number): string {
  const leaf = Math.floor(i / 50);
  return `a${leaf % 20}/b${Math.floor(leaf / 20) % 20}/c${Math.floor(leaf / 400) % 25}/d${Math.floor(leaf / 10000)}/f${i}.txt`;
}

function contentOf(i: number, version: number): string {
  return `entity ${i} version ${version}\n`.repeat(10 + (i % 40));
}

async function writeBuild(dir: string): Promise<void> {
  const made = new Set<string>();
  for (let i = 0; i < FILES; i++) {
    const path = join(dir, pathOf(i));
    const parent = path.slice(0, path.lastIndexOf("/"));
    if (!made.has(parent)) {
      await mkdir(parent, { recursive: true });
      made.add(parent);
    }
    await writeFile(path, contentOf(i, 1));
  }
}

const tmp = await mkdtemp(join(tmpdir(), "ferry-scale-"));
const dirs = { build: join(tmp, "build"), repo: join(tmp, "repo"), install: join(tmp, "install") };
await mkdir(dirs.repo, { recursive: true });
try {
  log(`generating ${FILES} files`);
  await writeBuild(dirs.build);
  // 10 files change, spread over different leaf directories.
  const change = async () => {
    for (let k = 0; k < CHANGED; k++) {
      const i = Math.floor((k * FILES) / CHANGED) + 7;
      await writeFile(join(dirs.build, pathOf(i)), contentOf(i, 2));
    }
  };
  const steps = await measureScaleSteps(dirs, change, log);
  console.log(JSON.stringify({ files: FILES, ...steps }, null, 1));
} finally {
  if (process.env.FERRY_SCALE_KEEP === "1") log(`kept ${tmp}`);
  else await rm(tmp, { recursive: true, force: true });
}
