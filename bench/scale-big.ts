/**
 * Scale benchmark, one huge file (issue 8): a release holding one pseudo-random (incompressible) file of
 * FERRY_SCALE_BIG_GIB GiB (default 8) beside a few small ones, published locally, installed, checked with
 * no change, then updated after 10 regions of 4 KiB inside the big file change in place. Prints publish
 * time and peak RSS, and the bytes/requests of each client step counted at the loopback server; each
 * library call runs in its own child process (bench/worker.ts) for its peak RSS.
 *
 *   npm run build && node dist/bench/scale-big.js                 # 8 GiB (needs ~4x that on disk)
 *   FERRY_SCALE_BIG_GIB=1 node dist/bench/scale-big.js            # smaller
 */
import { open, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair } from "../src/index.js";
import { serveCounting } from "./counting-server.js";
import { runWorker } from "./run-worker.js";

const GIB = Number(process.env.FERRY_SCALE_BIG_GIB ?? 8);
if (!(GIB > 0 && GIB <= 64)) throw new Error("FERRY_SCALE_BIG_GIB must be a number in (0, 64]");
const SIZE = Math.round(GIB * 1024 * 1024 * 1024);
const BLOCK = 1024 * 1024;
const EDITS = 10;
const EDIT_BYTES = 4096;
const started = performance.now();
const log = (message: string) =>
  console.error(`[scale-big ${((performance.now() - started) / 1000).toFixed(1)}s] ${message}`);

/** Deterministic incompressible bytes (xorshift32), one block at a time. */
function fill(block: Buffer, seed: number): void {
  let x = Math.imul(seed, 0x9e3779b1) ^ 0x85ebca6b || 1; // distinct seeds give distinct streams
  for (let i = 0; i + 4 <= block.length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    block.writeUInt32LE(x >>> 0, i);
  }
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
const { privatePem, publicText } = generateKeyPair();
const build = join(tmp, "build");
const repo = join(tmp, "repo");
const install = join(tmp, "install");
await mkdir(join(build, "data"), { recursive: true });
await mkdir(repo);
const server = await serveCounting(repo);
try {
  log(`generating ${GIB} GiB`);
  await writeBig(join(build, "data", "big.pak"));
  for (let i = 0; i < 5; i++) await writeFile(join(build, `config${i}.json`), `{"setting": ${i}}\n`);
  log("publish v1");
  const p1 = await runWorker<{ layout: string; metadataObjects: number; chunks: number }>({
    op: "publish",
    buildDir: build,
    repo,
    version: "1.0.0",
    privatePem,
  });
  log("install v1");
  server.take();
  const installed = await runWorker<{ metadataBytes: number }>({
    op: "update",
    repoUrl: server.url,
    installDir: install,
    publicText,
  });
  const installCounts = server.take();
  log("no-change check");
  const checked = await runWorker<{ updateAvailable: boolean }>({
    op: "check",
    repoUrl: server.url,
    installDir: install,
    publicText,
  });
  const checkCounts = server.take();
  await editBig(join(build, "data", "big.pak"));
  log("publish v2");
  const p2 = await runWorker<{ newMetadataObjects: number; newChunks: number }>({
    op: "publish",
    buildDir: build,
    repo,
    version: "2.0.0",
    privatePem,
  });
  log("update to v2");
  server.take();
  const updated = await runWorker<{ metadataBytes: number; filesWritten: number; bytesReused: number }>({
    op: "update",
    repoUrl: server.url,
    installDir: install,
    publicText,
  });
  const updateCounts = server.take();
  const result = {
    gib: GIB,
    publishV1: {
      seconds: p1.seconds,
      rssMiB: p1.rssMiB,
      layout: p1.result.layout,
      chunks: p1.result.chunks,
      objects: p1.result.metadataObjects,
    },
    install: {
      seconds: installed.seconds,
      rssMiB: installed.rssMiB,
      ...installCounts,
      metadataBytes: installed.result.metadataBytes,
    },
    check: { rssMiB: checked.rssMiB, updateAvailable: checked.result.updateAvailable, ...checkCounts },
    publishV2: {
      seconds: p2.seconds,
      rssMiB: p2.rssMiB,
      newObjects: p2.result.newMetadataObjects,
      newChunks: p2.result.newChunks,
    },
    update: {
      seconds: updated.seconds,
      rssMiB: updated.rssMiB,
      filesWritten: updated.result.filesWritten,
      bytesReused: updated.result.bytesReused,
      metadataBytes: updated.result.metadataBytes,
      ...updateCounts,
    },
  };
  console.log(JSON.stringify(result, null, 1));
} finally {
  await server.close();
  await rm(tmp, { recursive: true, force: true });
}
