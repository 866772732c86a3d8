import type { ExpiryWarning } from "./expiry-warnings.js";

/** What `ferry report` finds (report.ts) and renders (report-html.ts, the CLI). */
export interface ReportRelease {
  readonly version: string;
  readonly created: string;
  readonly manifest: string;
  readonly layout: "inline" | "tree";
  /** Every file of the release, optional packages included. */
  readonly files: number;
  readonly bytes: number;
  /** What an install with the default packages (every non-optional one) holds: what a fresh install writes. */
  readonly installFiles: number;
  readonly installBytes: number;
  /** Bytes of the packs the release references (what hosting it costs beyond metadata). */
  readonly packBytes: number;
  readonly packs: number;
  /** Stored manifest (inline) or header plus every tree object (tree). */
  readonly metadataBytes: number;
  readonly packages: readonly {
    readonly name: string;
    readonly optional: boolean;
    readonly files: number;
    readonly bytes: number;
  }[];
  readonly runtime?: string;
}

/** What a player on `from` (or a fresh install, from = null) downloads to reach the latest. */
export interface ReportUpdate {
  readonly from: string | null;
  /**
   * Payload: pack ranges the planner fetches (chunks and deltas, with the client's range coalescing).
   * A client also counts the multipart framing of multi-range responses (about 100 bytes per range).
   */
  readonly payloadBytes: number;
  /** Byte ranges of packs the payload is made of. */
  readonly ranges: number;
  /** HTTP requests the payload takes from a host that serves multi-range requests (ranges grouped per pack). */
  readonly payloadRequests: number;
  /**
   * Every HTTP request of the update: the payload's, the root chain (a fresh install), the probe for a
   * newer root, the pointer, the manifest and the tree objects the player lacks.
   */
  readonly requests: number;
  /**
   * Signed pointer, release manifest/header, tree objects the player does not already hold, and for a
   * fresh install the root metadata (a root rotated since a player's release adds its size for them).
   */
  readonly metadataBytes: number;
  readonly totalBytes: number;
  readonly filesWritten: number;
  readonly filesDeleted: number;
  readonly deltas: number;
  /** The packages the player holds after the update (a player on an older release: its default ones, carried). */
  readonly packages: readonly string[];
}

export interface ReportChannel {
  readonly channel: string;
  readonly serial: number;
  readonly published: string;
  readonly expires: string;
  /** Newest first. */
  readonly releases: readonly ReportRelease[];
  /** Oldest of the last releases first, then a fresh install last. */
  readonly updates: readonly ReportUpdate[];
}

export interface ReportData {
  readonly location: string;
  readonly generated: string;
  readonly channels: readonly ReportChannel[];
  /** Pointers and the root expiring soon (or expired): `ferry report` prints them. */
  readonly warnings: readonly ExpiryWarning[];
}
