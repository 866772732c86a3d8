/** What a mount is made of: a plain directory, a zip archive read in place, or a Ferry install. */
export type MountKind = "directory" | "zip" | "ferry-install";

/**
 * One mounted layer. Paths given to it were already checked by the path validator (src/core/paths.ts).
 * `size` answers whether the layer serves a path; `read` returns exactly those verified bytes.
 */
export interface MountLayer {
  readonly kind: MountKind;
  /** Absolute native path of the directory, archive or install. */
  readonly uri: string;
  /** The size of the file the layer serves at `path`, or undefined when it serves none there. */
  size(path: string): Promise<number | undefined>;
  read(path: string): Promise<Uint8Array>;
  /**
   * Identity of the content, recorded when a mount is persisted and compared when it is reopened: SHA-256
   * of an archive's bytes, of a directory's listing (paths, sizes, mtimes), or an install's manifest hash.
   */
  contentHash(): Promise<string>;
}
