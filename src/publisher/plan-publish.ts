import type { FerryError } from "../core/errors.js";
import type { FileEntry, Manifest } from "../core/manifest.js";
import { type ExpiryWarning, expiryWarnings } from "./expiry-warnings.js";
import { OverlayStore } from "./overlay-store.js";
import { openStore } from "./open-store.js";
import { type PublishOptions, type PublishResult, publishInto, readPreviousPointer } from "./publish.js";
import { readStoredRelease } from "./release-reader.js";
import type { ReportUpdate } from "./report-data.js";
import { reportChannel } from "./report.js";
import type { RepoLock } from "./repo-lock.js";
import { UploadSession } from "./upload-session.js";

/** What one package of the new release changes against the channel's current release (paths sorted). */
export interface PackageChanges {
  readonly name: string;
  /** False/true as the new release declares it; null for a package only the current release has. */
  readonly optional: boolean | null;
  /** Paths new in the release. */
  readonly added: readonly string[];
  /** Paths whose content, size or executable bit differ (they may also have changed package). */
  readonly changed: readonly string[];
  /** Paths the release drops (listed under the package they were in). */
  readonly removed: readonly string[];
  /** Same content, moved into this package from another one. */
  readonly moved: readonly string[];
  readonly unchanged: number;
}

/** A guard rail that would refuse the real publish (E_UNSAFE_PUBLISH), and the flag that overrides it. */
export interface PublishRefusal {
  /** "empty", "version" or "expiry". */
  readonly reason: string;
  readonly flag: string;
  readonly message: string;
}

/**
 * `publish --dry-run` (planPublish): everything a publish would do, computed by the publish itself into
 * an overlay of the repository, and nothing written.
 */
export interface PublishPlan {
  /** False when a guard rail refuses the real publish (see `refusals`); the rest is what it would do if overridden. */
  readonly wouldPublish: boolean;
  readonly refusals: readonly PublishRefusal[];
  /** The channel's release now (null: the channel has none yet). */
  readonly current: { readonly version: string; readonly serial: number } | null;
  /** The publish's own result: release, serial, chunks, packs and bytes it would store. */
  readonly result: PublishResult;
  /** Files added, changed, removed and moved, per package (packages sorted by name). */
  readonly packages: readonly PackageChanges[];
  readonly totals: {
    readonly added: number;
    readonly changed: number;
    readonly removed: number;
    readonly moved: number;
    readonly unchanged: number;
  };
  /**
   * What players download to reach the new release, computed by `ferry report`'s planner: a player on
   * each of the `last` releases of the channel before it (oldest first), then a fresh install.
   */
  readonly downloads: readonly ReportUpdate[];
  /** Objects the publish would upload (packs, manifest, tree objects, pointer, root), and their bytes. */
  readonly uploads: { readonly objects: number; readonly bytes: number };
  /** Pointers and roots that would expire soon after the publish (the new pointer included). */
  readonly warnings: readonly ExpiryWarning[];
}

export interface PlanPublishOptions extends PublishOptions {
  /** How many releases before the new one get a download figure (default 5, as `ferry report`). */
  readonly last?: number;
}

/** The repository lock is not taken: a dry run writes nothing, not even a lock file. */
const NO_LOCK: RepoLock = { assertHeld: async () => undefined, release: async () => undefined };

/**
 * Runs the publish against an overlay of the repository (OverlayStore: reads from the store, writes held
 * in memory and a temp directory), so every figure is the real publish's: the same scan, chunking,
 * compression, deltas, manifest and signed pointer. Nothing is written to the repository and no lock is
 * taken; the store receives reads only. The guard rails (empty build, version order, expiry) are reported
 * as `refusals` instead of thrown. The build's files are read (and compressed) as by a publish, so a dry
 * run costs about as much time as one; the store's clock is not consulted (no lock file is written), so
 * the expiry check uses this machine's clock and the current pointer's publish time.
 */
export async function planPublish(options: PlanPublishOptions): Promise<PublishPlan> {
  const last = options.last ?? 5;
  const backend = await openStore(options.repo, options.s3);
  const overlay = new OverlayStore(backend);
  try {
    const channel = options.channel ?? "stable";
    const refusals: PublishRefusal[] = [];
    // No upload events: nothing is uploaded (the scan and file events of the publish are passed on).
    const session = new UploadSession(overlay, { ...options.upload });
    const before = await readPreviousPointer(backend, channel);
    const onEvent = options.onEvent;
    const quiet: PublishOptions = {
      ...options,
      // expiry warnings are in the plan (computed after the publish, on the overlay)
      onEvent: (event) => {
        if (event.type !== "expiry-warning") onEvent?.(event);
      },
    };
    const result = await publishInto(session, quiet, NO_LOCK, (error: FerryError) => {
      refusals.push({
        reason: String(error.data.reason ?? ""),
        flag: String(error.data.flag ?? ""),
        message: error.message,
      });
    });
    const pointer = (await readPreviousPointer(overlay, channel))!;
    const next = (await readStoredRelease(overlay, pointer.manifest))!;
    const previous = before ? await readStoredRelease(backend, before.manifest) : undefined;
    const { packages, totals } = changesOf(previous, next);
    const downloads = (await reportChannel(overlay, pointer, { last, maxReleases: last + 1 })).updates;
    const uploads = overlay.written();
    return {
      wouldPublish: refusals.length === 0,
      refusals,
      current: before ? { version: before.version, serial: before.serial } : null,
      result,
      packages,
      totals,
      downloads,
      uploads: { objects: uploads.length, bytes: uploads.reduce((s, o) => s + o.size, 0) },
      warnings: await expiryWarnings(overlay),
    };
  } finally {
    await overlay.discard();
    if (backend !== options.repo) await backend.close?.();
  }
}

function changesOf(previous: Manifest | undefined, next: Manifest): Pick<PublishPlan, "packages" | "totals"> {
  type Lists = { added: string[]; changed: string[]; removed: string[]; moved: string[]; unchanged: number };
  const byPackage = new Map<string, Lists>();
  const lists = (name: string): Lists => {
    let l = byPackage.get(name);
    if (!l) byPackage.set(name, (l = { added: [], changed: [], removed: [], moved: [], unchanged: 0 }));
    return l;
  };
  for (const name of Object.keys(next.packages)) lists(name);
  const old = new Map<string, FileEntry>((previous?.files ?? []).map((f) => [f.path, f]));
  const paths = new Set<string>();
  for (const f of next.files) {
    paths.add(f.path);
    const was = old.get(f.path);
    const l = lists(f.package);
    if (!was) l.added.push(f.path);
    else if (was.sha256 !== f.sha256 || was.size !== f.size || was.executable !== f.executable)
      l.changed.push(f.path);
    else if (was.package !== f.package) l.moved.push(f.path);
    else l.unchanged++;
  }
  for (const f of previous?.files ?? []) if (!paths.has(f.path)) lists(f.package).removed.push(f.path);
  const packages = [...byPackage]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, l]) => ({
      name,
      optional: Object.hasOwn(next.packages, name) ? next.packages[name]!.optional : null,
      added: l.added.sort(),
      changed: l.changed.sort(),
      removed: l.removed.sort(),
      moved: l.moved.sort(),
      unchanged: l.unchanged,
    }));
  const sum = (key: "added" | "changed" | "removed" | "moved") =>
    packages.reduce((s, p) => s + p[key].length, 0);
  return {
    packages,
    totals: {
      added: sum("added"),
      changed: sum("changed"),
      removed: sum("removed"),
      moved: sum("moved"),
      unchanged: packages.reduce((s, p) => s + p.unchanged, 0),
    },
  };
}
