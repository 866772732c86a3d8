import { writeFile } from "node:fs/promises";
import { FerryError, ioError } from "../core/errors.js";
import type { Manifest } from "../core/manifest.js";
import { type LocalFile, plan } from "../core/planner.js";
import { groupForMultiRange, type PackRange } from "../core/ranges.js";
import type { PointerBody } from "../core/pointer.js";
import { carrySelection, defaultPackages, restrict, type Selection } from "../core/selection.js";
import { openStore, type S3Settings } from "./open-store.js";
import { readPreviousPointer } from "./publish.js";
import { readStoredReleaseDetail } from "./release-reader.js";
import { expiryWarnings } from "./expiry-warnings.js";
import type { RepoStore } from "./repo-store.js";
import type { ReportChannel, ReportData, ReportRelease, ReportUpdate } from "./report-data.js";
import { renderReport } from "./report-html.js";

/**
 * `ferry report`: what a producer checks before shipping (docs/HOSTING.md "Report"): the releases of
 * every channel and, for the last few, the bytes a player on them downloads to reach the latest. Those
 * figures come from the client's own planner, so they are what an update fetches, not an estimate.
 */
export interface ReportOptions {
  readonly repo: string | RepoStore;
  readonly s3?: S3Settings;
  /** How many releases before the latest get a download figure (default 5). */
  readonly last?: number;
  /** At most this many releases listed per channel (default 50). */
  readonly maxReleases?: number;
  /** Time printed as "generated" (default now). */
  readonly now?: Date;
}

export type { ReportChannel, ReportData, ReportRelease, ReportUpdate } from "./report-data.js";

export async function buildReport(options: ReportOptions): Promise<ReportData> {
  const store = await openStore(options.repo, options.s3);
  try {
    return await reportOf(store, options);
  } finally {
    if (store !== options.repo) await store.close?.();
  }
}

/** Builds the report and writes it as one self-contained HTML file. */
export async function writeReport(options: ReportOptions & { readonly out: string }): Promise<ReportData> {
  const data = await buildReport(options);
  await writeFile(options.out, renderReport(data)).catch((error: unknown) => {
    throw ioError("write", options.out, error);
  });
  return data;
}

async function reportOf(store: RepoStore, options: ReportOptions): Promise<ReportData> {
  const last = options.last ?? 5;
  const maxReleases = options.maxReleases ?? 50;
  if (!Number.isSafeInteger(last) || last < 0)
    throw new FerryError("E_USAGE", `Invalid number of releases ${last}: use an integer >= 0.`, { last });
  const channels: ReportChannel[] = [];
  const channelFiles = (await store.list("channels")).filter((p) => p.endsWith(".json")).sort();
  for (const file of channelFiles) {
    const channel = file.slice("channels/".length, -".json".length);
    const pointer = await readPreviousPointer(store, channel);
    if (!pointer) continue;
    channels.push(await reportChannel(store, pointer, { last, maxReleases }));
  }
  const now = options.now ?? new Date();
  return {
    location: store.location,
    generated: now.toISOString(),
    channels,
    warnings: await expiryWarnings(store, now),
  };
}

/**
 * One channel of the report: its releases (newest first, at most maxReleases) and what a player on each
 * of the `last` releases before the latest, and a fresh install, downloads to reach the latest. Players
 * are counted as clients install (src/client/plan/prepare.ts): a fresh install takes the default
 * packages (every non-optional one), a player on an older release holds that release's default packages
 * and updates with the selection carried over (carrySelection), so optional packages are fetched only
 * by players who asked for them and files that leave the selection are deleted.
 */
export async function reportChannel(
  store: RepoStore,
  pointer: PointerBody,
  options: { readonly last: number; readonly maxReleases: number },
): Promise<ReportChannel> {
  const pointerBytes = (await store.head(`channels/${pointer.channel}.json`))?.size ?? 0;
  // A fresh install also fetches the root chain (an installed player only fetches newer roots).
  let rootBytes = 0;
  const roots = await store.list("root");
  for (const path of roots) rootBytes += (await store.head(path))?.size ?? 0;
  const releases: ReportRelease[] = [];
  const chain: { hash: string; manifest: Manifest; objects: Set<string> }[] = [];
  let ref: { hash: string; size: number; rawSize?: number } | null = pointer.manifest;
  while (ref && releases.length < options.maxReleases) {
    const detail = await readStoredReleaseDetail(store, ref);
    if (!detail) break; // pruned history
    const m = detail.manifest;
    const objectBytes = detail.objects.reduce((s, o) => s + o.size, 0);
    const installed = restrict(m, defaultSelection(m)).files;
    releases.push({
      version: m.version,
      created: m.created,
      manifest: ref.hash,
      layout: detail.objects.length > 0 ? "tree" : "inline",
      files: m.files.length,
      bytes: m.files.reduce((s, f) => s + f.size, 0),
      installFiles: installed.length,
      installBytes: installed.reduce((s, f) => s + f.size, 0),
      packBytes: m.packs.reduce((s, p) => s + p.size, 0),
      packs: m.packs.length,
      metadataBytes: ref.size + objectBytes,
      packages: Object.entries(m.packages).map(([name, p]) => {
        const files = m.files.filter((f) => f.package === name);
        return {
          name,
          optional: p.optional,
          files: files.length,
          bytes: files.reduce((s, f) => s + f.size, 0),
        };
      }),
      ...(m.runtime !== undefined ? { runtime: m.runtime } : {}),
    });
    chain.push({ hash: ref.hash, manifest: m, objects: new Set(detail.objects.map((o) => o.hash)) });
    ref = m.previous;
  }
  const updates: ReportUpdate[] = [];
  const olderOnes = chain.slice(1, 1 + options.last).reverse();
  for (const older of [...olderOnes, undefined]) {
    // The latest as a player on `older` reads it: with the deltas for the release it has installed.
    const target = (await readStoredReleaseDetail(store, pointer.manifest, {
      ...(older ? { deltasFrom: older.hash } : {}),
    }))!;
    const current = older ? defaultSelection(older.manifest) : undefined;
    const tracked = older && current ? restrict(older.manifest, current).files : [];
    const local: LocalFile[] = tracked.map((f) => ({
      path: f.path,
      sha256: f.sha256,
      size: f.size,
      executable: f.executable,
      chunks: f.chunks.map((c) => [c.hash, c.size] as const),
      tracked: true,
    }));
    const carried = carrySelection(older?.manifest, current, target.manifest);
    const p = plan(restrict(target.manifest, carried.selection), local, new Set());
    const newObjects = target.objects.filter((o) => !older?.objects.has(o.hash));
    // A player on a release the header lists a metadata bundle for reads the new objects from that one
    // object (docs/FORMAT.md §5.4), rebuilt from the objects it holds.
    const bundle =
      older && newObjects.length > 0 ? target.bundles.find((b) => b.from === older.hash) : undefined;
    const objectBytes = bundle ? bundle.size : newObjects.reduce((s, o) => s + o.size, 0);
    const objectRequests = bundle ? 1 : newObjects.length;
    const metadataBytes = (older ? 0 : rootBytes) + pointerBytes + pointer.manifest.size + objectBytes;
    updates.push({
      from: older?.manifest.version ?? null,
      payloadBytes: p.downloadBytes,
      ranges: p.ranges.length,
      payloadRequests: payloadRequests(p.ranges),
      // Root chain (fresh install) or none, the probe for a newer root, the pointer, the manifest, new objects
      // (or their bundle).
      requests: payloadRequests(p.ranges) + (older ? 0 : roots.length) + 3 + objectRequests,
      metadataBytes,
      totalBytes: p.downloadBytes + metadataBytes,
      filesWritten: p.writes.length,
      filesDeleted: p.deletes.length,
      deltas: p.writes.filter((w) => w.delta !== undefined).length,
      packages: carried.selection.packages,
    });
  }
  return {
    channel: pointer.channel,
    serial: pointer.serial,
    published: pointer.published,
    expires: pointer.expires,
    releases,
    updates,
  };
}

/** Range requests a client sends for `ranges` (src/client/apply/fetcher.ts): per pack, multi-range groups. */
function payloadRequests(ranges: readonly PackRange[]): number {
  const byPack = new Map<number, PackRange[]>();
  for (const r of ranges) byPack.set(r.pack, [...(byPack.get(r.pack) ?? []), r]);
  let n = 0;
  for (const packRanges of byPack.values()) n += groupForMultiRange(packRanges).length;
  return n;
}

/** What an install of `manifest` holds when nobody chose packages: the default (non-optional) ones. */
function defaultSelection(manifest: Manifest): Selection {
  return { packages: defaultPackages(manifest), paths: [] };
}
