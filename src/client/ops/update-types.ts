import type { Selection } from "../../core/release-policy.js";
import type { ExecuteOptions } from "../apply/execute.js";
import type { ClientDeps } from "../context.js";
import type { RangeMode } from "../events.js";
import type { VerifyMode } from "../plan/incremental.js";
import type { RefusalHook } from "../plan/policy.js";
import type { PrepareOptions } from "../plan/prepare.js";
import type { SetAsideRecord } from "../plan/runtime.js";
import type { TrustOption } from "../remote/trust.js";

/** check's and update's options: what to plan (PrepareOptions), how to download (ExecuteOptions), deps. */
export interface UpdateOptions extends ClientDeps, PrepareOptions, ExecuteOptions {
  readonly repoUrl: string;
  /** More base URLs of the same repository, tried after repoUrl (docs/HOSTING.md "Mirrors"). */
  readonly mirrors?: readonly string[];
  readonly installDir: string;
  /** Root keys or a root file (see TrustAnchor); an installed release's stored root supersedes keys. */
  readonly trust: TrustOption;
  /** Accept a pointer with a lower serial or version than installed. Only ever set by the caller. */
  readonly allowDowngrade?: boolean;
  readonly channel?: string;
  readonly concurrency?: number;
  /** Start in this range mode (default "multi"); Ferry degrades further by itself when needed. */
  readonly rangeMode?: RangeMode;
  /** Attempts per download request before the update fails (default 5). */
  readonly maxAttempts?: number;
  /** Install exactly these packages (docs/PACKAGES.md); default: keep the installed set, or all non-optional. */
  readonly packages?: readonly string[];
  /** This client's runtime: only releases for it are installed; a stale release is set aside. */
  readonly runtime?: string;
  /** Read-only base directory: files identical there are not copied into the install (kept in the state). */
  readonly base?: string;
  /** Reinstall the current release in place: re-hash and rewrite every file (see force.ts). */
  readonly force?: boolean;
  /**
   * Which installed files the update verifies on disk: "all", or only those the update "changes" (a tree
   * diff, for very large installs); default "auto" (see incremental.ts).
   */
  readonly verify?: VerifyMode;
  /** "next-start": stage and verify everything now, commit at the next `open` (docs/ROLLBACK.md). */
  readonly applyOn?: "now" | "next-start";
  /** Caller's policy (metered connection, low disk, ...): may refuse before anything is downloaded. */
  readonly beforeDownload?: RefusalHook;
}

export interface UpdateSummary {
  readonly upToDate: boolean;
  readonly version: string;
  readonly previousVersion: string | null;
  readonly serial: number;
  readonly bytesDownloaded: number;
  readonly metadataBytes: number;
  readonly requests: number;
  readonly filesWritten: number;
  readonly filesDeleted: number;
  readonly filesKept: number;
  readonly chunksFetched: number;
  /** Files rebuilt from a binary delta, and delta writes that fell back to chunks (source changed). */
  readonly deltasApplied: number;
  readonly deltaFallbacks: number;
  readonly bytesReused: number;
  readonly bytesHashed: number;
  readonly rangeMode: RangeMode;
  readonly durationMs: number;
  /** Installed packages after the update. */
  readonly packages?: readonly string[];
  /** Installed packages the new release no longer has: removed with their files. */
  readonly droppedPackages?: readonly string[];
  /** The channel's release needs another runtime; the installed release (for this one) stays. */
  readonly heldForRuntime?: { readonly version: string; readonly runtime: string };
  /** A release for another runtime that this run set aside (app upgrade). */
  readonly setAside?: SetAsideRecord;
  /** Staged for the next `open` (applyOn "next-start") rather than committed. */
  readonly pending?: boolean;
}

export interface CheckResult {
  readonly updateAvailable: boolean;
  readonly installedVersion: string | null;
  readonly version: string;
  readonly serial: number;
  readonly downloadBytes: number;
  readonly filesToWrite: number;
  readonly filesToDelete: number;
  readonly metadataBytes: number;
  /** The channel's release needs another runtime; the installed release (for this one) stays. */
  readonly heldForRuntime?: { readonly version: string; readonly runtime: string };
  /** The signed pointer's expiry (a cached answer never outlives it). */
  readonly expires: string;
  /** The release's notes and runtime, when the publisher recorded them. */
  readonly notes?: string;
  readonly runtime?: string;
  /** The pointer's policy (docs/ROLLBACK.md): mandatory, minimum version, rollout bucket. */
  readonly mandatory: boolean;
  readonly minVersion: string | null;
  /** The installed version is below minVersion: the game should update before playing. */
  readonly mustUpdate: boolean;
  /** This install's bucket for the release (0..9999) when the channel is in a staged rollout. */
  readonly rolloutBucket: number | null;
  /** "release", "fallback" (outside a rollout), "stay" or "halted" (docs/ROLLBACK.md). */
  readonly selection: Selection["reason"];
  /**
   * Untracked files (not in the installed release: saves, configs, mods) at paths the update writes:
   * the update moves them to `.ferry/displaced/` (docs/FORMAT.md §7). Present only when there are some.
   */
  readonly collisions?: readonly string[];
}
