/**
 * Ferry's side of the issue-16 benchmark: one repository per release series, published in order with
 * Ferry's defaults; an install of each pair's old release is made before the next publish moves the
 * channel, then every install is updated to the last release. A second, empty repository takes a cold
 * publish of the last release and a fresh install from it. Every library call runs in its own child
 * process (bench/run-worker.ts: wall time and peak RSS of that call); traffic is counted at the server.
 */
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { generateKeyPair, type PublishResult, type UpdateSummary } from "../src/index.js";
import type { Counts, CountingServer } from "./counting-server.js";
import { checkTree, type TreeDiff } from "./peer-tools.js";
import { runWorker } from "./run-worker.js";

export interface Release {
  readonly version: string;
  readonly dir: string;
}

/** Server-side traffic of one client call, split as the issue asks: packs/ is payload, the rest metadata. */
export interface Traffic {
  /** Bytes on the wire (status line and headers included), and response bodies alone. */
  readonly wire: number;
  readonly body: number;
  readonly requests: number;
  readonly payloadWire: number;
  readonly payloadRequests: number;
  readonly metadataWire: number;
  readonly metadataRequests: number;
}

export interface FerryCall<T> {
  readonly seconds: number;
  readonly rssMiB: number;
  readonly result: T;
}

export interface FerryUpdate extends FerryCall<UpdateSummary> {
  readonly traffic: Traffic;
}

export interface FerrySeries {
  /** One per release, in publish order (the first one is a cold publish into an empty repository). */
  readonly publishes: readonly FerryCall<PublishResult>[];
  /** Update of an install of releases[from] to the last release, by `from`. */
  readonly updates: ReadonlyMap<number, FerryUpdate>;
  /** Cold publish of the last release into an empty repository, and a fresh install from it. */
  readonly cold: FerryCall<PublishResult>;
  readonly fresh: FerryUpdate;
}

export function traffic(counts: Counts): Traffic {
  const payload = counts.byKind.get("packs");
  return {
    wire: counts.wire,
    body: counts.bytes,
    requests: counts.requests,
    payloadWire: payload?.wire ?? 0,
    payloadRequests: payload?.requests ?? 0,
    metadataWire: counts.wire - (payload?.wire ?? 0),
    metadataRequests: counts.requests - (payload?.requests ?? 0),
  };
}

export interface SeriesOptions {
  readonly server: CountingServer;
  /** The directory the server serves; repositories are made under it. */
  readonly serveDir: string;
  readonly tmp: string;
  readonly key: string;
  readonly releases: readonly Release[];
  /** Indexes of releases to install and then update to the last release. */
  readonly updateFrom: readonly number[];
  /** diffs.get(from): releases[from] -> last release; `fresh`: an empty tree -> last release. */
  readonly diffs: ReadonlyMap<number, TreeDiff>;
  readonly freshDiff: TreeDiff;
  /** Passed to every publish when set; Ferry's default otherwise. */
  readonly deltaHistory?: number;
  readonly log: (line: string) => void;
}

export async function runFerrySeries(o: SeriesOptions): Promise<FerrySeries> {
  const keys = generateKeyPair();
  const repoName = `ferry-${o.key}`;
  const coldName = `ferry-${o.key}-cold`;
  const installs = join(o.tmp, `installs-${o.key}`);
  const history = o.deltaHistory === undefined ? {} : { deltaHistory: o.deltaHistory };
  const publishJob = (release: Release, repo: string) =>
    runWorker<PublishResult>({
      op: "publish",
      buildDir: release.dir,
      version: release.version,
      repo: join(o.serveDir, repo),
      privatePem: keys.privatePem,
      ...history,
    });
  const client = (repo: string, dir: string) => ({
    op: "update" as const,
    repoUrl: `${o.server.url}${repo}/`,
    installDir: join(installs, dir),
    publicText: keys.publicText,
  });
  const measuredUpdate = async (repo: string, dir: string, diff: TreeDiff): Promise<FerryUpdate> => {
    o.server.take();
    const run = await runWorker<UpdateSummary>(client(repo, dir));
    const counted = traffic(o.server.take());
    await checkTree(join(installs, dir), diff);
    return { ...run, traffic: counted };
  };
  await mkdir(installs, { recursive: true });
  try {
    const publishes: FerryCall<PublishResult>[] = [];
    for (const [i, release] of o.releases.entries()) {
      o.log(`${o.key}: Ferry publish ${release.version}`);
      publishes.push(await publishJob(release, repoName));
      // The channel pointer moves on the next publish: install this release now.
      if (o.updateFrom.includes(i)) await runWorker<UpdateSummary>(client(repoName, `from-${i}`));
    }
    const updates = new Map<number, FerryUpdate>();
    for (const from of o.updateFrom) {
      const diff = o.diffs.get(from);
      if (diff === undefined) throw new Error(`no tree diff for ${o.key} from release ${from}`);
      o.log(`${o.key}: Ferry update ${o.releases[from]?.version} -> ${o.releases.at(-1)?.version}`);
      updates.set(from, await measuredUpdate(repoName, `from-${from}`, diff));
    }
    const last = o.releases.at(-1);
    if (last === undefined) throw new Error(`series ${o.key} has no release`);
    o.log(`${o.key}: Ferry cold publish ${last.version}, fresh install`);
    const cold = await publishJob(last, coldName);
    const fresh = await measuredUpdate(coldName, "fresh", o.freshDiff);
    return { publishes, updates, cold, fresh };
  } finally {
    await rm(installs, { recursive: true, force: true });
    await rm(join(o.serveDir, repoName), { recursive: true, force: true });
    await rm(join(o.serveDir, coldName), { recursive: true, force: true });
  }
}
