import { FerryError } from "../core/errors.js";
import { JsonReader, parseJson } from "../core/json-reader.js";
import { objectPath } from "../core/tree.js";
import { openStore, type S3Settings } from "./open-store.js";
import { readPreviousPointer } from "./publish.js";
import { readStoredReleaseDetail } from "./release-reader.js";
import { DirectoryStore, type RepoStore } from "./repo-store.js";
import { withRepoLock } from "./repo-writer.js";

/**
 * Garbage collection of a repository (docs/HOSTING.md "Pruning"). Reachable: root/, channels/,
 * ferry-repo.json (never listed, never touched), and for the newest `keep` releases of every channel
 * their manifest, tree objects, delta indexes, metadata bundles, and every pack (with its index) they or their delta
 * indexes name. Everything else under manifests/, objects/ and packs/ is garbage, deleted only when
 * past the grace period, which protects two kinds of readers:
 *   - a client mid-update to a release superseded less than `graceDays` ago: releases past `keep` whose
 *     successor was created within the grace period stay reachable;
 *   - a publish in progress and anything written recently: objects modified within the grace period
 *     (or whose modification time the store does not report) are kept.
 * With `apply`, prune holds the repository lock (as publish does): a publish may reuse a chunk of a
 * garbage pack (its index is still listed), so the two never run at once. A dry run takes no lock.
 */
export interface PruneOptions {
  /** A directory, s3://bucket/prefix (with `s3` settings), or any RepoStore. */
  readonly repo: string | RepoStore;
  readonly s3?: S3Settings;
  /** Releases to keep per channel, counting the current one (at least 1). */
  readonly keep: number;
  /** Default 7. */
  readonly graceDays?: number;
  /** Delete the garbage; without it prune only reports (dry run). */
  readonly apply?: boolean;
  /** Default now (tests). */
  readonly now?: Date;
}

export interface PruneObject {
  readonly path: string;
  readonly size: number;
  /** ISO time, when the store reports one. */
  readonly modified?: string;
}

export interface PruneResult {
  readonly location: string;
  readonly applied: boolean;
  /** Per channel, the releases kept (newest first) and those kept only by the grace period. */
  readonly channels: readonly {
    readonly channel: string;
    readonly kept: readonly string[];
    readonly graceKept: readonly string[];
  }[];
  readonly reachableObjects: number;
  /** Unreachable and past the grace period: deleted with `apply`, else what would be deleted. */
  readonly garbage: readonly PruneObject[];
  readonly garbageBytes: number;
  /** Unreachable but modified within the grace period (or of unknown age): kept. */
  readonly young: readonly PruneObject[];
  readonly youngBytes: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const PRUNED_PREFIXES = ["manifests", "objects", "packs"] as const;

export async function prune(options: PruneOptions): Promise<PruneResult> {
  const store = await openStore(options.repo, options.s3);
  try {
    if (!options.apply) return await pruneStore(store, options);
    return await withRepoLock(store, "prune", () => pruneStore(store, options));
  } finally {
    if (store !== options.repo) await store.close?.();
  }
}

async function pruneStore(store: RepoStore, options: PruneOptions): Promise<PruneResult> {
  const keep = options.keep;
  const graceDays = options.graceDays ?? 7;
  if (!Number.isSafeInteger(keep) || keep < 1)
    throw new FerryError("E_USAGE", `Invalid keep ${keep}: keep at least 1 release per channel.`, { keep });
  if (!(graceDays >= 0) || !Number.isFinite(graceDays))
    throw new FerryError("E_USAGE", `Invalid grace period ${graceDays}: use a number of days >= 0.`, {
      graceDays,
    });
  const now = options.now ?? new Date();
  const cutoff = now.getTime() - graceDays * DAY_MS;

  const reachable = new Set<string>();
  const keepPack = (id: string) => {
    reachable.add(`packs/${id}.pack`);
    reachable.add(`packs/${id}.idx.json`);
  };
  const channels: { channel: string; kept: string[]; graceKept: string[] }[] = [];
  const channelFiles = (await store.list("channels")).filter((p) => p.endsWith(".json")).sort();
  for (const file of channelFiles) {
    const channel = file.slice("channels/".length, -".json".length);
    const pointer = await readPreviousPointer(store, channel);
    if (!pointer) continue;
    const entry = { channel, kept: [] as string[], graceKept: [] as string[] };
    channels.push(entry);
    let ref: { hash: string; size: number; rawSize?: number } | null = pointer.manifest;
    // When the release after the one being walked became current (the pointer's for the current release).
    let supersededAt = Number.POSITIVE_INFINITY;
    while (ref) {
      const withinKeep = entry.kept.length < keep;
      if (!withinKeep && supersededAt < cutoff) break;
      const release = await readStoredReleaseDetail(store, ref);
      if (!release) break; // pruned earlier: history ends here
      (withinKeep ? entry.kept : entry.graceKept).push(release.manifest.version);
      reachable.add(`manifests/${ref.hash}`);
      for (const object of release.objects) reachable.add(objectPath(object.hash));
      for (const bundle of release.bundles) reachable.add(objectPath(bundle.hash));
      for (const pack of release.manifest.packs) keepPack(pack.id);
      for (const { from, index } of release.deltaIndexes) {
        reachable.add(objectPath(index.hash));
        const what = `delta index ${index.hash} (from release ${from}) of manifests/${ref.hash}`;
        const r = new JsonReader(what, parseJson(what, await release.load(index, what)));
        for (const pair of r.array("packs")) {
          const id = Array.isArray(pair) ? (pair[0] as unknown) : undefined;
          if (typeof id !== "string" || !/^[0-9a-f]{64}$/.test(id))
            throw new FerryError("E_FORMAT", `${what} has a malformed pack table.`, {
              path: objectPath(index.hash),
            });
          keepPack(id);
        }
      }
      supersededAt = Date.parse(release.manifest.created);
      ref = release.manifest.previous;
    }
  }

  const garbage: PruneObject[] = [];
  const young: PruneObject[] = [];
  for (const prefix of PRUNED_PREFIXES) {
    const paths = store instanceof DirectoryStore ? await store.list(prefix, true) : await store.list(prefix);
    for (const path of paths.sort()) {
      if (reachable.has(path)) continue;
      const info = await store.head(path);
      if (!info) continue; // a "directory" or gone meanwhile
      const object: PruneObject = {
        path,
        size: info.size,
        ...(info.modified ? { modified: info.modified.toISOString() } : {}),
      };
      if (info.modified !== undefined && info.modified.getTime() < cutoff) garbage.push(object);
      else young.push(object);
    }
  }
  if (options.apply) {
    // Manifests first, then the objects they name, packs before their indexes: a reader never sees a
    // manifest naming a deleted object, and publish never trusts an index whose pack is gone.
    const rank = (p: string) =>
      p.startsWith("manifests/") ? 0 : p.startsWith("objects/") ? 1 : p.endsWith(".idx.json") ? 3 : 2;
    for (const object of [...garbage].sort((a, b) => rank(a.path) - rank(b.path)))
      await store.delete(object.path);
  }
  const sum = (list: readonly PruneObject[]) => list.reduce((s, o) => s + o.size, 0);
  return {
    location: store.location,
    applied: options.apply === true,
    channels,
    reachableObjects: reachable.size,
    garbage,
    garbageBytes: sum(garbage),
    young,
    youngBytes: sum(young),
  };
}
