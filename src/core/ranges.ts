import type { ChunkRef } from "./manifest.js";

/** A byte range of one pack and the chunks it covers (sorted by offset). */
export interface PackRange {
  readonly pack: number;
  readonly start: number;
  /** Exclusive. */
  readonly end: number;
  readonly chunks: readonly ChunkRef[];
}

export interface CoalesceOptions {
  /** Neighbouring chunks closer than this are fetched in one range (the gap is over-read). */
  readonly maxGap: number;
  /** A coalesced range never grows past this many bytes. */
  readonly maxRange: number;
}

export const DEFAULT_COALESCE: CoalesceOptions = { maxGap: 16 * 1024, maxRange: 8 * 1024 * 1024 };

/** Groups chunks into per-pack ranges; over-read is bounded by maxGap per joined pair. */
export function coalesce(
  chunks: readonly ChunkRef[],
  options: CoalesceOptions = DEFAULT_COALESCE,
): PackRange[] {
  const sorted = [...chunks].sort((a, b) => a.pack - b.pack || a.offset - b.offset);
  const ranges: PackRange[] = [];
  let current: { pack: number; start: number; end: number; chunks: ChunkRef[] } | undefined;
  let hashes = new Set<string>();
  for (const chunk of sorted) {
    const end = chunk.offset + chunk.length;
    if (
      current &&
      current.pack === chunk.pack &&
      chunk.offset >= current.end &&
      chunk.offset - current.end <= options.maxGap &&
      end - current.start <= options.maxRange
    ) {
      current.end = end;
      current.chunks.push(chunk);
      hashes.add(chunk.hash);
      continue;
    }
    if (current && current.pack === chunk.pack && chunk.offset < current.end) {
      // The same location again: one chunk listed twice (dropped), or another chunk of the same solid
      // block (docs/FORMAT.md §4.1), which the range already covers and must list.
      if (end <= current.end && !hashes.has(chunk.hash)) {
        current.chunks.push(chunk);
        hashes.add(chunk.hash);
      }
      continue;
    }
    current = { pack: chunk.pack, start: chunk.offset, end, chunks: [chunk] };
    hashes = new Set([chunk.hash]);
    ranges.push(current);
  }
  return ranges;
}

/**
 * Groups one pack's ranges into multi-range requests whose Range header stays under `maxHeader`
 * characters (nginx rejects ~8 KiB headers) and whose total body stays under `maxBytes`.
 */
export function groupForMultiRange(
  ranges: readonly PackRange[],
  maxHeader = 3500,
  maxBytes = 16 * 1024 * 1024,
): PackRange[][] {
  const groups: PackRange[][] = [];
  let group: PackRange[] = [];
  let header = "bytes=".length;
  let bytes = 0;
  for (const range of ranges) {
    const spec = `${range.start}-${range.end - 1},`.length;
    const length = range.end - range.start;
    if (
      group.length > 0 &&
      (header + spec > maxHeader || bytes + length > maxBytes || group[0]!.pack !== range.pack)
    ) {
      groups.push(group);
      group = [];
      header = "bytes=".length;
      bytes = 0;
    }
    group.push(range);
    header += spec;
    bytes += length;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

export function rangeHeader(ranges: readonly PackRange[]): string {
  return "bytes=" + ranges.map((r) => `${r.start}-${r.end - 1}`).join(",");
}
