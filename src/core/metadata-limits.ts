import { FerryError } from "./errors.js";

/**
 * Work a release's signed metadata may cost, bounded by what was downloaded (docs/FORMAT.md §5.3,
 * docs/SECURITY.md "Input hardening"). A stolen key or a publisher bug must not turn kilobytes into
 * minutes of CPU or gigabytes of RAM:
 * - Decoded bytes: a metadata object (manifest, tree header, directory, recipe, delta index) may decode
 *   to at most METADATA_MAX_RATIO times its stored size (plus METADATA_RATIO_FLOOR). Real ones compress
 *   3-10x; a padding field that compresses 1000:1 is refused before anything is decoded.
 * - Structural units: every directory entry, chunk reference, recipe part and delta entry a walk builds
 *   costs one unit, each time it is built (a subtree or recipe shared by many paths costs at every use).
 *   The units of one release may not exceed UNITS_PER_STORED_BYTE per stored (downloaded, compressed)
 *   byte of the distinct objects read, plus UNIT_FLOOR, nor MAX_RELEASE_UNITS. Each unit names a SHA-256
 *   (32 bytes that do not compress) or a path, so a real release stays far below one unit per byte;
 *   padding adds stored bytes only at their real, compressed cost.
 * - Decoding work: the decoded bytes of every object read, repeats included (a walk that does not cache
 *   reads a shared object again), may not exceed METADATA_MAX_RATIO per stored byte plus
 *   METADATA_WORK_FLOOR.
 */
export const METADATA_MAX_RATIO = 64;
export const METADATA_RATIO_FLOOR = 1024 * 1024;
export const UNITS_PER_STORED_BYTE = 1;
export const UNIT_FLOOR = 16_384;
export const METADATA_WORK_FLOOR = 16 * 1024 * 1024;
export const MAX_RELEASE_UNITS = 32 * 1024 * 1024;

/** E_TOO_LARGE when a metadata object of `storedSize` bytes claims to decode to more than its share. */
export function checkMetadataRatio(storedSize: number, rawSize: number, what: string): void {
  const cap = METADATA_RATIO_FLOOR + METADATA_MAX_RATIO * storedSize;
  if (rawSize > cap)
    throw new FerryError(
      "E_TOO_LARGE",
      `${what} claims to decode to ${rawSize} bytes from ${storedSize} stored; Ferry decodes signed metadata up to ${METADATA_MAX_RATIO} times its stored size plus ${METADATA_RATIO_FLOOR} bytes (${cap} here). The metadata is hostile or corrupt; nothing was decoded.`,
      { object: what, storedSize, rawSize, limit: cap },
    );
}

/**
 * The running account of one walk: stored bytes credited once per distinct object, units and decoded
 * bytes debited at every use. Pure; the walker calls it before it builds anything an object describes.
 */
export class MetadataBudget {
  private stored = 0;
  private units = 0;
  private decoded = 0;
  private readonly credited = new Set<string>();

  constructor(
    private readonly document: string,
    /** The header's (or inline manifest's) stored size: what the pointer pinned. */
    headerStored: number,
    headerRaw: number,
  ) {
    this.stored = headerStored;
    this.decoded = headerRaw;
  }

  /** An object about to be parsed: credits its stored bytes the first time, debits its decoded bytes. */
  object(hash: string, storedSize: number, rawSize: number, what: string): void {
    checkMetadataRatio(storedSize, rawSize, what);
    if (!this.credited.has(hash)) {
      this.credited.add(hash);
      this.stored += storedSize;
    }
    this.decoded += rawSize;
    const cap = METADATA_WORK_FLOOR + METADATA_MAX_RATIO * this.stored;
    if (this.decoded > cap)
      throw this.refuse(
        `decoding ${this.decoded} bytes of metadata (objects read again where they are shared) from ${this.stored} stored, over the ${cap}-byte budget`,
        { decoded: this.decoded, limit: cap },
      );
  }

  /** `count` structural units built from `what`. */
  spend(count: number, what: string): void {
    this.units += count;
    const cap = Math.min(MAX_RELEASE_UNITS, UNIT_FLOOR + UNITS_PER_STORED_BYTE * this.stored);
    if (this.units > cap)
      throw this.refuse(
        `more than ${cap} entries and chunk references (at ${what}) from ${this.stored} stored bytes of metadata; Ferry allows ${UNITS_PER_STORED_BYTE} per stored byte plus ${UNIT_FLOOR}, at most ${MAX_RELEASE_UNITS}`,
        { units: this.units, limit: cap },
      );
  }

  get totals(): { stored: number; units: number; decoded: number } {
    return { stored: this.stored, units: this.units, decoded: this.decoded };
  }

  private refuse(detail: string, data: Record<string, number>): FerryError {
    return new FerryError(
      "E_TOO_LARGE",
      `${this.document} describes ${detail}. Shared subtrees or recipes cannot multiply work beyond what was downloaded; the repository is hostile or corrupt.`,
      { document: this.document, stored: this.stored, ...data },
    );
  }
}
