/** Range coalescing for pack downloads (src/core/ranges.ts). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { ChunkRef } from "../../src/core/manifest.js";
import {
  type CoalesceOptions,
  coalesce,
  DEFAULT_COALESCE,
  groupForMultiRange,
  type PackRange,
  rangeHeader,
} from "../../src/core/ranges.js";

let counter = 0;
function chunk(pack: number, offset: number, length: number): ChunkRef {
  counter++;
  return { hash: counter.toString(16).padStart(64, "0"), size: length, pack, offset, length, codec: "raw" };
}

const spans = (ranges: readonly PackRange[]): [number, number, number][] =>
  ranges.map((r) => [r.pack, r.start, r.end]);

describe("ranges: coalesce examples", () => {
  it("merges adjacent and near chunks, splits at gaps larger than maxGap", () => {
    const options: CoalesceOptions = { maxGap: 100, maxRange: 1_000_000 };
    const chunks = [chunk(0, 0, 50), chunk(0, 50, 50), chunk(0, 150, 10), chunk(0, 261, 10)];
    // 100 -> 150: gap 50 (merged); 160 -> 261: gap 101 (split).
    assert.deepEqual(spans(coalesce(chunks, options)), [
      [0, 0, 160],
      [0, 261, 271],
    ]);
  });

  it("a gap of exactly maxGap is merged", () => {
    const ranges = coalesce([chunk(0, 0, 10), chunk(0, 110, 10)], { maxGap: 100, maxRange: 1000 });
    assert.deepEqual(spans(ranges), [[0, 0, 120]]);
  });

  it("never merges across packs, even when offsets touch", () => {
    const ranges = coalesce([chunk(0, 0, 10), chunk(1, 10, 10), chunk(0, 10, 10)], DEFAULT_COALESCE);
    assert.deepEqual(spans(ranges), [
      [0, 0, 20],
      [1, 10, 20],
    ]);
  });

  it("respects maxRange; a single chunk larger than maxRange gets its own range", () => {
    const options: CoalesceOptions = { maxGap: 1000, maxRange: 100 };
    const ranges = coalesce(
      [chunk(0, 0, 60), chunk(0, 60, 60), chunk(0, 120, 500), chunk(0, 620, 10)],
      options,
    );
    assert.deepEqual(spans(ranges), [
      [0, 0, 60],
      [0, 60, 120],
      [0, 120, 620],
      [0, 620, 630],
    ]);
  });

  it("sorts its input and keeps chunk order within a range", () => {
    const a = chunk(0, 0, 10);
    const b = chunk(0, 10, 10);
    const c = chunk(0, 20, 10);
    const ranges = coalesce([c, a, b], DEFAULT_COALESCE);
    assert.equal(ranges.length, 1);
    assert.deepEqual(ranges[0]!.chunks, [a, b, c]);
  });

  it("the same chunk location listed twice is covered once", () => {
    const a = chunk(0, 100, 10);
    const ranges = coalesce([a, chunk(0, 0, 10), a], { maxGap: 0, maxRange: 1000 });
    assert.deepEqual(spans(ranges), [
      [0, 0, 10],
      [0, 100, 110],
    ]);
    assert.deepEqual(ranges[1]!.chunks, [a]);
  });

  it("empty input gives no ranges", () => {
    assert.deepEqual(coalesce([], DEFAULT_COALESCE), []);
    assert.deepEqual(groupForMultiRange([]), []);
  });
});

/** Non-overlapping chunk locations in 1-3 packs, a random subset of them, shuffled. */
const chunkSetArb: fc.Arbitrary<ChunkRef[]> = fc
  .array(
    fc.array(
      fc.record({
        gap: fc.oneof(fc.constant(0), fc.nat({ max: 300 }), fc.nat({ max: 40000 })),
        length: fc.integer({ min: 1, max: 5000 }),
      }),
      { maxLength: 30 },
    ),
    { minLength: 1, maxLength: 3 },
  )
  .map((packs) => {
    const out: ChunkRef[] = [];
    packs.forEach((layout, pack) => {
      let offset = 0;
      for (const { gap, length } of layout) {
        offset += gap;
        out.push(chunk(pack, offset, length));
        offset += length;
      }
    });
    return out;
  })
  .chain((all) => fc.shuffledSubarray(all));

const optionsArb: fc.Arbitrary<CoalesceOptions> = fc.record({
  maxGap: fc.oneof(fc.constant(0), fc.nat({ max: 2000 }), fc.nat({ max: 50000 })),
  maxRange: fc.oneof(fc.integer({ min: 1, max: 10000 }), fc.integer({ min: 1, max: 200000 })),
});

describe("ranges: coalesce properties", () => {
  it("covers every chunk exactly once, in ranges that contain them", () => {
    fc.assert(
      fc.property(chunkSetArb, optionsArb, (chunks, options) => {
        const ranges = coalesce(chunks, options);
        const seen = new Map<ChunkRef, number>();
        for (const range of ranges) {
          for (const c of range.chunks) {
            seen.set(c, (seen.get(c) ?? 0) + 1);
            assert.equal(c.pack, range.pack, "a range never spans packs");
            assert.ok(c.offset >= range.start && c.offset + c.length <= range.end);
          }
        }
        assert.equal(seen.size, chunks.length);
        for (const c of chunks) assert.equal(seen.get(c), 1);
      }),
      { numRuns: 300 },
    );
  });

  it("ranges are tight, sorted, non-overlapping, within maxGap and maxRange", () => {
    fc.assert(
      fc.property(chunkSetArb, optionsArb, (chunks, options) => {
        const ranges = coalesce(chunks, options);
        for (const range of ranges) {
          assert.ok(range.chunks.length > 0);
          const first = range.chunks[0]!;
          const last = range.chunks[range.chunks.length - 1]!;
          assert.equal(range.start, first.offset);
          assert.equal(range.end, last.offset + last.length);
          if (range.chunks.length > 1) {
            assert.ok(range.end - range.start <= options.maxRange, "range longer than maxRange");
          }
          for (let i = 1; i < range.chunks.length; i++) {
            const prev = range.chunks[i - 1]!;
            const gap = range.chunks[i]!.offset - (prev.offset + prev.length);
            assert.ok(gap >= 0 && gap <= options.maxGap, `gap ${gap} inside a range`);
          }
        }
        for (let i = 1; i < ranges.length; i++) {
          const a = ranges[i - 1]!;
          const b = ranges[i]!;
          assert.ok(a.pack < b.pack || (a.pack === b.pack && a.end <= b.start), "ranges sorted, disjoint");
        }
      }),
      { numRuns: 300 },
    );
  });

  it("merges greedily: two consecutive ranges of one pack could not have been joined", () => {
    fc.assert(
      fc.property(chunkSetArb, optionsArb, (chunks, options) => {
        const ranges = coalesce(chunks, options);
        for (let i = 1; i < ranges.length; i++) {
          const a = ranges[i - 1]!;
          const b = ranges[i]!;
          if (a.pack !== b.pack) continue;
          const next = b.chunks[0]!;
          const gapTooBig = b.start - a.end > options.maxGap;
          const tooLong = next.offset + next.length - a.start > options.maxRange;
          assert.ok(
            gapTooBig || tooLong,
            `ranges [${a.start},${a.end}) and [${b.start},${b.end}) could merge`,
          );
        }
      }),
      { numRuns: 300 },
    );
  });

  it("over-read is bounded: covered bytes minus chunk bytes <= maxGap per join", () => {
    fc.assert(
      fc.property(chunkSetArb, optionsArb, (chunks, options) => {
        const ranges = coalesce(chunks, options);
        const covered = ranges.reduce((sum, r) => sum + (r.end - r.start), 0);
        const needed = chunks.reduce((sum, c) => sum + c.length, 0);
        const joins = chunks.length - ranges.length;
        assert.ok(covered >= needed);
        assert.ok(covered - needed <= joins * options.maxGap);
      }),
      { numRuns: 200 },
    );
  });
});

describe("ranges: groupForMultiRange", () => {
  it("keeps every group's Range header under the limit and never mixes packs", () => {
    fc.assert(
      fc.property(
        chunkSetArb,
        optionsArb,
        fc.integer({ min: 20, max: 400 }),
        fc.integer({ min: 1, max: 100000 }),
        (chunks, options, maxHeader, maxBytes) => {
          const ranges = coalesce(chunks, options);
          const groups = groupForMultiRange(ranges, maxHeader, maxBytes);
          assert.deepEqual(groups.flat(), ranges, "groups partition the ranges in order");
          for (const group of groups) {
            assert.ok(group.length > 0);
            assert.ok(group.every((r) => r.pack === group[0]!.pack));
            if (group.length > 1) {
              assert.ok(
                rangeHeader(group).length <= maxHeader,
                `header ${rangeHeader(group).length} > ${maxHeader}`,
              );
              assert.ok(group.reduce((s, r) => s + (r.end - r.start), 0) <= maxBytes);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("with default limits, headers stay under 3500 characters for many small ranges", () => {
    const ranges: PackRange[] = [];
    for (let i = 0; i < 2000; i++) {
      const start = 1_000_000_000 + i * 100_000;
      ranges.push({ pack: 0, start, end: start + 10, chunks: [chunk(0, start, 10)] });
    }
    const groups = groupForMultiRange(ranges);
    assert.ok(groups.length > 1);
    for (const group of groups) assert.ok(rangeHeader(group).length <= 3500);
    assert.equal(groups.flat().length, 2000);
  });

  it("rangeHeader uses inclusive ends", () => {
    const r: PackRange = { pack: 0, start: 0, end: 10, chunks: [] };
    const s: PackRange = { pack: 0, start: 20, end: 21, chunks: [] };
    assert.equal(rangeHeader([r, s]), "bytes=0-9,20-20");
  });
});
