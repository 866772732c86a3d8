/**
 * A delta's source is read from disk about once, however its copies jump around it (issue 16: one
 * font's delta re-read its source per block miss, 8.4 GB in 12,164 reads). Counted through a
 * forwarding file system, for a source held in memory and for one larger than the budget (block cache).
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { writeFromDelta } from "../../src/client/apply/apply-delta.js";
import { InstallLayout } from "../../src/client/install/layout.js";
import { encodeDelta } from "../../src/core/delta-encode.js";
import { ForwardingFileSystem } from "../../src/node/forwarding-fs.js";
import { nodeBrotli } from "../../src/node/node-codec.js";
import { nodeCrypto } from "../../src/node/node-crypto.js";
import { NodeFileSystem } from "../../src/node/node-fs.js";
import { pseudoRandom } from "../../src/testing/game-fixture.js";

/** Counts the bytes and calls of every read of one path. */
class ReadCounter extends ForwardingFileSystem {
  bytes = 0;
  reads = 0;
  constructor(private readonly path: string) {
    super(new NodeFileSystem());
  }
  override async readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    const data = await super.readRange(path, offset, length);
    if (path === this.path) {
      this.bytes += data.length;
      this.reads++;
    }
    return data;
  }
  override async *readBlocks(path: string): AsyncIterable<Uint8Array> {
    for await (const block of super.readBlocks(path)) {
      if (path === this.path) {
        this.bytes += block.length;
        this.reads++;
      }
      yield block;
    }
  }
  override async readFile(path: string): Promise<Uint8Array> {
    const data = await super.readFile(path);
    if (path === this.path) {
      this.bytes += data.length;
      this.reads++;
    }
    return data;
  }
}

const BLOCK = 16 * 1024;
const BLOCKS = 256; // a 4 MiB source

/** The source's blocks in reverse order, every 7th block changed: each copy lies before the previous one. */
function shuffled(source: Uint8Array): Uint8Array {
  const target = new Uint8Array(source.length);
  for (let i = 0; i < BLOCKS; i++) {
    const from = (BLOCKS - 1 - i) * BLOCK;
    target.set(source.subarray(from, from + BLOCK), i * BLOCK);
    if (i % 7 === 0) target[i * BLOCK + 100] = (target[i * BLOCK + 100]! + 1) % 256;
  }
  return target;
}

async function applyCounted(budget: number | undefined) {
  const dir = await mkdtemp(join(tmpdir(), "ferry-delta-reads-"));
  try {
    const layout = new InstallLayout(dir);
    const source = pseudoRandom("delta-source", BLOCKS * BLOCK);
    const target = shuffled(source);
    const delta = encodeDelta(nodeBrotli, source, target, 5);
    await writeFile(join(dir, "font.ttf"), source);
    const deltaHash = await nodeCrypto.sha256(delta);
    await mkdir(layout.stagedChunks, { recursive: true });
    await writeFile(layout.stagedChunk(deltaHash), delta);
    const fs = new ReadCounter(layout.file("font.ttf"));
    const out: Uint8Array[] = [];
    const writer = {
      write: (data: Uint8Array) => {
        out.push(data.slice());
        return Promise.resolve();
      },
      commit: () => Promise.resolve(),
      abort: () => Promise.resolve(),
    };
    const result = await writeFromDelta(
      {
        fs,
        layout,
        refetch: () => Promise.reject(new Error("the delta is staged")),
        brotli: nodeBrotli,
        crypto: nodeCrypto,
        ...(budget === undefined ? {} : { sourceInMemory: budget }),
      },
      {
        sourcePath: "font.ttf",
        ref: {
          from: await nodeCrypto.sha256(source),
          fromSize: source.length,
          hash: deltaHash,
          size: delta.length,
          pack: 0,
          offset: 0,
          length: delta.length,
        },
      },
      { path: "font.ttf", size: target.length },
      writer,
      { update: () => undefined },
    );
    assert.ok(result, "the delta applied");
    assert.ok(result.copiedBytes > target.length / 2, "most of the target was copied from the source");
    assert.deepEqual(Buffer.concat(out), Buffer.from(target), "the target was rebuilt exactly");
    return { bytes: fs.bytes, reads: fs.reads, size: source.length };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("a delta whose copies run backwards reads its source once when it fits in memory", async () => {
  const { bytes, reads, size } = await applyCounted(undefined);
  // The hashing read only: every copy is served from the verified bytes in memory.
  assert.equal(bytes, size, `read ${bytes} bytes of a ${size}-byte source in ${reads} reads`);
});

test("a source over the memory budget is read through a block cache, not once per copy", async () => {
  const { bytes, reads, size } = await applyCounted(1024 * 1024);
  // The hashing read plus each cached block once (the whole source fits the cache here).
  assert.ok(bytes <= 2 * size, `read ${bytes} bytes of a ${size}-byte source in ${reads} reads`);
});
