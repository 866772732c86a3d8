import type { Brotli } from "../ports/codec.js";
import { decode } from "./codec.js";
import { DELTA_MAGIC, DELTA_WINDOW, DeltaReader, MAX_WINDOW_BODY, unzigzag } from "./delta-format.js";

/** Random access to the file a delta applies to (the installed, verified old version). */
export type SourceReader = (offset: number, length: number) => Promise<Uint8Array>;

const READ_BLOCK = 1024 * 1024;

/**
 * Applies a `ferry-delta-v1` delta, yielding the target window by window (docs/FORMAT.md §9). Memory is
 * one window plus one source block, whatever the file sizes. Hostile input ends in E_FORMAT: every size,
 * count and source range is checked before use, and the output is exactly `targetSize` bytes. The caller
 * verifies the source's hash before and the target's hash after.
 */
export async function* applyDelta(
  brotli: Brotli,
  delta: Uint8Array,
  readSource: SourceReader,
  expected: { readonly sourceSize: number; readonly targetSize: number },
  what: string,
  /** Optional tally of the target bytes copied from the source (the rest are literals). */
  counters?: { copiedBytes: number },
): AsyncGenerator<Uint8Array> {
  const r = new DeltaReader(delta, what);
  const magic = r.take(4, "magic");
  if (!DELTA_MAGIC.every((b, i) => magic[i] === b)) r.fail("not a ferry-delta-v1 object");
  const sourceSize = r.varint(Number.MAX_SAFE_INTEGER, "source size");
  const targetSize = r.varint(Number.MAX_SAFE_INTEGER, "target size");
  if (sourceSize !== expected.sourceSize || targetSize !== expected.targetSize) {
    r.fail(
      `sizes ${sourceSize} -> ${targetSize} differ from the manifest's ${expected.sourceSize} -> ${expected.targetSize}`,
    );
  }
  let block: Uint8Array = new Uint8Array(0);
  let blockStart = 0;
  const source = async (offset: number, length: number): Promise<Uint8Array> => {
    if (offset < blockStart || offset + length > blockStart + block.length) {
      blockStart = offset;
      block = await readSource(offset, Math.min(sourceSize - offset, Math.max(length, READ_BLOCK)));
      if (block.length < length) r.fail(`the source file is shorter than ${offset + length} bytes`);
    }
    return block.subarray(offset - blockStart, offset - blockStart + length);
  };

  let produced = 0;
  while (produced < targetSize) {
    const rawLength = r.varint(MAX_WINDOW_BODY, "window size");
    const compressedLength = r.varint(r.remaining, "compressed window size");
    const raw = decode(brotli, "br", r.take(compressedLength, "window"), rawLength, `${what} window`);
    const w = new DeltaReader(raw, `${what} window at target offset ${produced}`);
    const windowLength = w.varint(Math.min(DELTA_WINDOW, targetSize - produced), "window length");
    if (windowLength === 0) w.fail("empty window");
    const opCount = w.varint(windowLength, "op count");
    const literalBytes = w.varint(windowLength, "literal bytes");
    const literalStart = raw.length - literalBytes;
    if (literalStart < w.at) w.fail("literals overlap the ops");
    const out = new Uint8Array(windowLength);
    let filled = 0;
    let literalAt = literalStart;
    let lastCopyEnd = 0;
    for (let i = 0; i < opCount; i++) {
      const head = w.varint(2 * (windowLength - filled) + 1, "op");
      const length = Math.floor(head / 2);
      if (length === 0) w.fail("zero-length op");
      if (length > windowLength - filled) w.fail("op past the window");
      if (head % 2 === 0) {
        if (literalAt + length > raw.length) w.fail("literal past the window");
        out.set(raw.subarray(literalAt, literalAt + length), filled);
        literalAt += length;
      } else {
        const offset = lastCopyEnd + unzigzag(w.varint(Number.MAX_SAFE_INTEGER, "copy offset"));
        if (offset < 0 || offset + length > sourceSize)
          w.fail(`copy of ${length} bytes at ${offset} outside the source`);
        out.set(await source(offset, length), filled);
        lastCopyEnd = offset + length;
        if (counters) counters.copiedBytes += length;
      }
      filled += length;
    }
    if (filled !== windowLength || w.at !== literalStart || literalAt !== raw.length) {
      w.fail("ops do not fill the window exactly");
    }
    produced += windowLength;
    yield out;
  }
  if (r.remaining !== 0) r.fail("trailing bytes after the last window");
}
