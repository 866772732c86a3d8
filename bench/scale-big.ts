/**
 * Scale benchmark, one huge file (issue 8): a release holding one pseudo-random (incompressible) file of
 * FERRY_SCALE_BIG_GIB GiB (default 8) beside a few small ones, published locally, installed, checked with
 * no change, then updated after 10 regions of 4 KiB inside the big file change in place (steps and
 * measurements: scale-steps.ts).
 *
 *   npm run build && node dist/bench/scale-big.js                 # 8 GiB (needs ~4x that on disk)
 *   FERRY_SCALE_BIG_GIB=1 node dist/bench/scale-big.js            # smaller
 */
import { createCipheriv } from "node:crypto";
import { open, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { measureScaleSteps } from "./scale-steps.js";

const GIB = Number(process.env.FERRY_SCALE_BIG_GIB ?? 8);
if (!(GIB > 0 && GIB <= 64)) throw new Error("FERRY_SCALE_BIG_GIB must be a number in (0, 64]");
const SIZE = Math.round(GIB * 1024 * 1024 * 1024);
const BLOCK = 1024 * 1024;
const EDITS = 10;
const EDIT_BYTES = 4096;
const KEY = Buffer.alloc(32, 7);
const started = performance.now();
const log = (message: string) =>
  console.error(`[scale-big ${((performance.now() - started) / 1000).toFixed(1)}s] ${message}`);

/**
 * Deterministic incompressible bytes without repeats: AES-256-CTR keystream under a fixed key, the block's
 * seed as IV. (A 32-bit xorshift repeated itself: its 2^32 cycle made 16 % of 8 GiB duplicate chunks.)
 */
function fill(block: Buffer, seed: number): void {
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(seed >>> 0, 0);
  const cipher = createCipheriv("aes-256-ctr", KEY, iv);
  block.fill(0);
  const stream = cipher.update(block);
  stream.copy(block);
}

async function writeBig(path: string): Promise<void> {
  const handle = await open(path, "w");
  const block = Buffer.alloc(BLOCK);
  try {
    for (let offset = 0; offset < SIZE; offset += BLOCK) {
      fill(block, offset / BLOCK + 1);
      await handle.write(block, 0, Math.min(BLOCK, SIZE - offset), offset);
    }
  } finally {
    await handle.close();
  }
}

async function editBig(path: string): Promise<void> {
  const handle = await open(path, "r+");
  const edit = Buffer.alloc(EDIT_BYTES);
  try {
    for (let k = 0; k < EDITS; k++) {
      fill(edit, 0x5eed + k);
      await handle.write(edit, 0, EDIT_BYTES, Math.floor(((k + 0.5) * SIZE) / EDITS));
    }
  } finally {
    await handle.close();
  }
}

const tmp = await mkdtemp(join(tmpdir(), "ferry-scale-big-"));
const dirs = { build: join(tmp, "build"), repo: join(tmp, "repo"), install: join(tmp, "install") };
await mkdir(join(dirs.build, "data"), { recursive: true });
await mkdir(dirs.repo);
try {
  log(`generating ${GIB} GiB`);
  await writeBig(join(dirs.build, "data", "big.pak"));
  for (let i = 0; i < 5; i++) await writeFile(join(dirs.build, `config${i}.json`), `{"setting": ${i}}\n`);
  const steps = await measureScaleSteps(dirs, () => editBig(join(dirs.build, "data", "big.pak")), log);
  console.log(JSON.stringify({ gib: GIB, ...steps }, null, 1));
} finally {
  await rm(tmp, { recursive: true, force: true });
}
