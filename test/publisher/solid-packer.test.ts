/**
 * The solid packer (docs/FORMAT.md §4.1): any set of small files survives packing into blocks and back,
 * blocks respect their size, and a file changed after chunking is refused.
 */
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { ChunkRef } from "../../src/core/manifest.js";
import { decodeBlock, MAX_BLOCK_RATIO, takeChunk } from "../../src/core/solid-block.js";
import { decode, nodeBrotli } from "../../src/node/node-codec.js";
import { sha256 } from "../../src/node/node-crypto.js";
import type { PackWriter, PendingLocation } from "../../src/publisher/pack-writer.js";
import { type SolidPlacement, SolidPacker } from "../../src/publisher/solid-packer.js";
import { MemoryFileSystem } from "../../src/testing/memory-fs.js";
import { expectCodeAsync } from "../helpers/helpers.js";

/** A pack writer that keeps appended blocks in memory (the packer only appends blocks). */
function memoryPack() {
  const parts: Uint8Array[] = [];
  let size = 0;
  const blocks: { blockSize: number; length: number; members: number }[] = [];
  const writer = {
    append(_hash: string, _size: number, _codec: string, stored: Uint8Array): Promise<PendingLocation> {
      const location = { pack: "memory", offset: size, length: stored.length };
      parts.push(stored);
      size += stored.length;
      return Promise.resolve(location);
    },
    appendBlock(
      _codec: string,
      stored: Uint8Array,
      blockSize: number,
      members: readonly unknown[],
    ): Promise<PendingLocation> {
      const location = { pack: "memory", offset: size, length: stored.length };
      parts.push(stored);
      size += stored.length;
      blocks.push({ blockSize, length: stored.length, members: members.length });
      return Promise.resolve(location);
    },
  };
  const bytes = (): Uint8Array => Buffer.concat(parts);
  return { writer: writer as unknown as PackWriter, bytes, blocks };
}

const fileArb = fc.record({
  name: fc.stringMatching(/^[a-z]{1,8}$/),
  ext: fc.constantFrom("json", "png", "txt", ""),
  // Text-like and random content, empty files included (they have no chunks).
  data: fc.oneof(
    fc.uint8Array({ minLength: 0, maxLength: 3000 }),
    fc.string({ maxLength: 2000 }).map((s) => new TextEncoder().encode(s.repeat(3))),
  ),
});

describe("solid packer", () => {
  it("any set of small files packs into blocks that give every chunk back (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fileArb, { maxLength: 40 }),
        fc.constantFrom(1, 700, 4096, 64 * 1024),
        async (files, blockBytes) => {
          const fs = new MemoryFileSystem();
          await fs.mkdirp("/build");
          const packer = new SolidPacker(
            { maxFileBytes: 4096, blockBytes, quality: 5 },
            nodeBrotli,
            fs,
            sha256,
          );
          const chunks: { data: Uint8Array; hash: string; placement: SolidPlacement }[] = [];
          const seen = new Set<string>();
          for (const [i, f] of files.entries()) {
            const path = `dir${i % 3}/${f.name}${i}${f.ext ? `.${f.ext}` : ""}`;
            const absolute = `/build/${i}`;
            await fs.writeFile(absolute, f.data);
            // Two chunks per file where it has two bytes or more: offsets inside a file are kept.
            const cut = Math.floor(f.data.length / 2);
            for (const [offset, data] of [
              [0, f.data.subarray(0, cut)],
              [cut, f.data.subarray(cut)],
            ] as const) {
              const hash = sha256(data);
              if (data.length === 0 || seen.has(hash)) continue;
              seen.add(hash);
              chunks.push({ data, hash, placement: packer.add(hash, data.length, path, absolute, offset) });
            }
          }
          const pack = memoryPack();
          const result = await packer.flush(pack.writer);
          assert.equal(result.chunks, chunks.length);
          const packBytes = pack.bytes();
          for (const { data, hash, placement } of chunks) {
            const location = placement.location!;
            const stored = packBytes.subarray(location.offset, location.offset + location.length);
            if (!placement.solid) {
              assert.deepEqual(
                Buffer.from(decode(placement.codec, stored, data.length, "chunk")),
                Buffer.from(data),
              );
              continue;
            }
            const ref: ChunkRef = {
              hash,
              size: data.length,
              pack: 0,
              offset: location.offset,
              length: location.length,
              codec: placement.codec,
              solid: placement.solid,
            };
            const block = decodeBlock(nodeBrotli, ref, stored, "block");
            assert.deepEqual(Buffer.from(takeChunk(block, ref)), Buffer.from(data));
          }
          for (const b of pack.blocks) {
            assert.ok(b.blockSize <= blockBytes || b.members === 1, `block of ${b.blockSize} B`);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("puts similar files together: extension first, then path", async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdirp("/b");
    const packer = new SolidPacker(
      { maxFileBytes: 1 << 20, blockBytes: 1 << 20, quality: 5 },
      nodeBrotli,
      fs,
      sha256,
    );
    const placed: [string, SolidPlacement][] = [];
    for (const path of ["z/a.png", "a/b.json", "m/c.png", "b/a.json"]) {
      const data = new TextEncoder().encode(`content of ${path}`);
      await fs.writeFile(`/b/${path.replace("/", "_")}`, data);
      placed.push([path, packer.add(sha256(data), data.length, path, `/b/${path.replace("/", "_")}`, 0)]);
    }
    await packer.flush(memoryPack().writer);
    const order = placed.sort((a, b) => a[1].solid!.blockOffset - b[1].solid!.blockOffset).map(([p]) => p);
    assert.deepEqual(order, ["a/b.json", "b/a.json", "m/c.png", "z/a.png"]);
  });

  it("splits a block that would decode to more than MAX_BLOCK_RATIO times its stored size", async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdirp("/b");
    const packer = new SolidPacker(
      { maxFileBytes: 1 << 20, blockBytes: 4 << 20, quality: 5 },
      nodeBrotli,
      fs,
      sha256,
    );
    // Each file alone compresses about 300:1 (200 random bytes, then zeros); sixteen together share the
    // random bytes and would compress far beyond 1024:1.
    const shared = Uint8Array.from({ length: 200 }, (_, i) => (i * 2654435761) >>> 24);
    for (let i = 0; i < 16; i++) {
      const data = new Uint8Array(64 * 1024);
      data.set(shared, 0);
      data[300] = i;
      await fs.writeFile(`/b/${i}`, data);
      packer.add(sha256(data), data.length, `f${i}.bin`, `/b/${i}`, 0);
    }
    const pack = memoryPack();
    await packer.flush(pack.writer);
    assert.ok(pack.blocks.length > 1, `${pack.blocks.length} block(s)`);
    // Every block is one a reader accepts: decoded size within the ratio of its stored length.
    for (const b of pack.blocks)
      assert.ok(b.blockSize <= MAX_BLOCK_RATIO * b.length, `${b.blockSize} from ${b.length}`);
    assert.equal(
      pack.blocks.reduce((s, b) => s + b.members, 0),
      16,
    );
  });

  it("never puts chunks of two groups (new paths, delta candidates) into one block", async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdirp("/b");
    const packer = new SolidPacker(
      { maxFileBytes: 1 << 20, blockBytes: 1 << 20, quality: 5 },
      nodeBrotli,
      fs,
      sha256,
    );
    const placed: [number, SolidPlacement][] = [];
    for (const [i, group] of [0, 1, 0, 1, 1].entries()) {
      const data = new TextEncoder().encode(`file ${i} of group ${group}`);
      await fs.writeFile(`/b/${i}`, data);
      placed.push([group, packer.add(sha256(data), data.length, `f${i}.txt`, `/b/${i}`, 0, group)]);
    }
    const pack = memoryPack();
    await packer.flush(pack.writer);
    assert.equal(pack.blocks.length, 2);
    for (const group of [0, 1]) {
      const offsets = new Set(placed.filter(([g]) => g === group).map(([, p]) => p.location!.offset));
      assert.equal(offsets.size, 1, `group ${group} in one block`);
    }
    assert.notEqual(placed[0]![1].location!.offset, placed[1]![1].location!.offset);
  });

  it("refuses a build file that changed after it was chunked (E_IO)", async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdirp("/b");
    const data = new TextEncoder().encode("original bytes");
    await fs.writeFile("/b/f", data);
    const packer = new SolidPacker(
      { maxFileBytes: 1 << 20, blockBytes: 1 << 20, quality: 5 },
      nodeBrotli,
      fs,
      sha256,
    );
    packer.add(sha256(data), data.length, "f.txt", "/b/f", 0);
    await fs.writeFile("/b/f", new TextEncoder().encode("changed bytes!"));
    await expectCodeAsync(() => packer.flush(memoryPack().writer), "E_IO");
  });
});
