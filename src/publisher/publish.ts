import { NodeFileSystem } from "../node/node-fs.js";
import { Chunker, type ChunkingParams, DEFAULT_CHUNKING } from "../core/chunker.js";
import type { Codec } from "../core/codec.js";
import { encodeChunkMeasured } from "../core/compress-trial.js";
import { availableParallelism } from "node:os";
import { limitedBrotli, nodeBrotli } from "../node/node-codec.js";
import { FerryError, ioError } from "../core/errors.js";
import { sha256, sha256Stream } from "../node/node-crypto.js";
import type { SigningKey } from "../core/keys.js";
import {
  type ChunkRef,
  type DeltaRef,
  type FileEntry,
  MAX_DELTAS_PER_FILE,
  type Manifest,
  VERSION_PATTERN,
} from "../core/manifest.js";
import { parsePointer, type PointerBody, signPointer, verifyPointer } from "../core/pointer.js";
import { expiryAfterDays, timestamp } from "../core/time.js";
import { type BuiltDelta, type DeltaSettings, deltasForFile, loadHistory } from "./deltas.js";
import { PackWriter, type PendingLocation } from "./pack-writer.js";
import type { SolidLocation } from "../core/solid-block.js";
import { sparseBlockChunks } from "./solid-repack.js";
import { solidPacker, type SolidOption } from "./solid-option.js";
import { type KnownChunk, loadChunkIndex } from "./repo-index.js";
import { openStore, type S3Settings } from "./open-store.js";
import type { RepoStore } from "./repo-store.js";
import { type UploadEvent, UploadSession, type UploadSessionOptions } from "./upload-session.js";
import { ensureRoot, loadRootChain, requireReleaseKeys } from "./roots.js";
import { DEFAULT_METADATA_HISTORY, storeManifest } from "./manifest-store.js";
import { releaseInfo } from "../core/release-info.js";
import { publishPolicy } from "./rollout.js";
import { scanBuildDirectory } from "./scan.js";
import { type CachedContent, defaultCacheDir, StatCache } from "./stat-cache.js";
import { loadPackageRules } from "./packages.js";
import { packageOf, usedPackages } from "../core/packages-config.js";
import { checkChannelName, checkRuntimeName } from "../core/names.js";
import { compareVersions } from "../core/version.js";
import { type ExpiryWarning, expiryWarnings } from "./expiry-warnings.js";
import type { RepoLock } from "./repo-lock.js";
import { readForSwap, withRepoLock } from "./repo-writer.js";
import { DEFAULT_POINTER_EXPIRY_DAYS, requireSafeExpiry } from "./publish-guards.js";
import { nodeCrypto } from "../node/node-crypto.js";
import { nodePorts } from "../node/node-ports.js";

export interface PublishOptions {
  readonly buildDir: string;
  /** A directory, s3://bucket/prefix (with `s3` settings), or any RepoStore. */
  readonly repo: string | RepoStore;
  readonly s3?: S3Settings;
  /** Parallelism and retries of uploads (docs/HOSTING.md). */
  readonly upload?: Omit<UploadSessionOptions, "onEvent">;
  readonly version: string;
  /** Release key(s): a threshold of the newest root's release role. Without a root, root/1.json is created for them. */
  readonly key: SigningKey | readonly SigningKey[];
  readonly channel?: string;
  readonly chunking?: ChunkingParams;
  /**
   * Brotli quality 0..11 for chunks. Default 8: on the corpus's 64 KiB text chunks it is 0.07 % larger
   * than 9 at 4.3x the speed (15 vs 3.5 MB/s); 11 is 6.5 % smaller at 0.6 MB/s.
   */
  readonly quality?: number;
  readonly maxPackSize?: number;
  /**
   * Solid blocks (docs/FORMAT.md §4.1, feature "solid"): new chunks of small files compressed together
   * in blocks. `true` uses the defaults of solid-packer.ts. Default off: a release then needs no feature.
   */
  readonly solid?: SolidOption;
  /**
   * Binary deltas (docs/FORMAT.md §9) from the same path in this many earlier releases of the channel
   * (default 3, at most 8; 0 disables). A delta is kept when it is at most 0.8x what a client holding
   * the old version would otherwise download for the file.
   */
  readonly deltaHistory?: number;
  /**
   * Metadata bundles (docs/FORMAT.md §5.4) for this many earlier tree releases of the channel (default 3,
   * at most 8; 0 disables): a client on one of them reads this release's metadata in one request.
   */
  readonly metadataHistory?: number;
  /** Files larger than this (old or new version) get no delta: the encoder holds both in memory. Default 256 MiB. */
  readonly deltaMaxFileBytes?: number;
  /** Brotli quality of delta windows (default 9; see DEFAULT_DELTA_QUALITY). */
  readonly deltaQuality?: number;
  /**
   * How the manifest is stored (docs/FORMAT.md §5): "inline" lists every file in one object; "tree" splits
   * it into directory objects and recipes so clients fetch metadata only for what changed; "auto" (default)
   * picks inline while the inline form is at most INLINE_MANIFEST_MAX bytes compressed.
   */
  readonly layout?: "auto" | "inline" | "tree";
  /** Creation time recorded in the manifest (default now; set for reproducible output). */
  readonly created?: Date;
  readonly expiresInDays?: number;
  /** Clients must install this release before playing (docs/ROLLBACK.md). */
  readonly mandatory?: boolean;
  /** Clients below this version must update before playing. */
  readonly minVersion?: string;
  /** Staged rollout: the share of installs (0 < p <= 100) that take the release; the rest keep the current one. */
  readonly rolloutPercent?: number;
  /** Expiry of root/1.json when this publish creates it (default 365 days). */
  readonly rootExpiresInDays?: number;
  readonly onEvent?: (event: PublishEvent) => void;
  /** Release notes recorded in the manifest (plain text, at most 16 KiB); shown by `ferry ui`. */
  readonly notes?: string;
  /** The runtime (app/engine build) the release needs; recorded in the pointer and manifest (docs/PACKAGES.md). */
  readonly runtime?: string;
  /** Guard rail override (--allow-empty): publish a build with no files (every client deletes the game). */
  readonly allowEmpty?: boolean;
  /** Guard rail override (--allow-downgrade): a version not above the channel's current one. */
  readonly allowDowngrade?: boolean;
  /** Guard rail override (--allow-short-expiry): a pointer that expires within MIN_EXPIRY_DAYS (or already has). */
  readonly allowShortExpiry?: boolean;
  /**
   * Where the publisher's stat cache lives (stat-cache.ts): a republish does not re-read files whose
   * identity (inode, size, mtime, ctime) is unchanged since the last publish of this build directory to
   * this repository. Default defaultCacheDir() (FERRY_CACHE_DIR, else the per-user cache); false: none.
   */
  readonly cacheDir?: string | false;
}

export type PublishEvent =
  /**
   * The long steps of a publish, as they start: "scan" (listing the build), "chunk" (hashing, chunking
   * and compressing `files` files of `bytes` bytes; "chunk-progress" follows), "delta" (binary deltas
   * against `releases` earlier releases), "manifest" (building and storing the manifest of `files` files).
   */
  | { readonly type: "phase"; readonly phase: "scan"; readonly buildDir: string }
  | { readonly type: "phase"; readonly phase: "chunk"; readonly files: number; readonly bytes: number }
  | { readonly type: "phase"; readonly phase: "delta"; readonly releases: number; readonly files: number }
  | { readonly type: "phase"; readonly phase: "manifest"; readonly files: number }
  /**
   * Chunking progress, also inside a large file (at most every CHUNK_PROGRESS_BYTES read): bytes read of
   * the build so far, chunks cut, and how many of them are new (compressed and stored).
   */
  | {
      readonly type: "chunk-progress";
      readonly path: string;
      readonly bytesDone: number;
      readonly bytesTotal: number;
      readonly chunks: number;
      readonly newChunks: number;
    }
  | { readonly type: "scan"; readonly files: number; readonly bytes: number }
  /** root/1.json was created with the publishing key(s) holding the root and release roles. */
  | { readonly type: "root-created"; readonly keyids: readonly string[] }
  | {
      readonly type: "file";
      readonly path: string;
      readonly done: number;
      readonly total: number;
      readonly bytesDone: number;
      readonly bytesTotal: number;
    }
  /** A delta for `path` from an earlier content `from` was kept (`bytes` long). */
  | { readonly type: "delta"; readonly path: string; readonly from: string; readonly bytes: number }
  /** After the publish: another channel's pointer or the root expires soon (docs/SECURITY.md "Expiry"). */
  | ({ readonly type: "expiry-warning" } & ExpiryWarning)
  | UploadEvent;

export interface PublishResult {
  readonly version: string;
  readonly channel: string;
  readonly serial: number;
  readonly manifestHash: string;
  readonly manifestBytes: number;
  readonly layout: "inline" | "tree";
  /** Directory and recipe objects of a tree release (0 when inline), and how many this publish added. */
  readonly metadataObjects: number;
  readonly newMetadataObjects: number;
  readonly files: number;
  readonly bytes: number;
  readonly chunks: number;
  readonly newChunks: number;
  readonly newPacks: number;
  readonly storedBytes: number;
  /** Deltas the manifest lists, and the bytes of the delta objects this publish stored. */
  readonly deltas: number;
  readonly newDeltaBytes: number;
  /** Metadata bundles the tree header lists (docs/FORMAT.md §5.4) and their bytes (0 when inline). */
  readonly metadataBundles: number;
  readonly metadataBundleBytes: number;
  /** Files taken from the stat cache (unchanged since the last publish), not read. */
  readonly cachedFiles: number;
}

const DEFAULT_MAX_PACK = 64 * 1024 * 1024;
/** Bytes read between two "chunk-progress" events. */
const CHUNK_PROGRESS_BYTES = 4 * 1024 * 1024;
const DEFAULT_DELTA_HISTORY = 3;
const DEFAULT_DELTA_MAX_FILE = 256 * 1024 * 1024;
/**
 * Brotli quality of delta windows. On the corpus's 213 changed files (15.7 MB), quality 9 gives 0.86 MB
 * of deltas, 11 gives 0.83 MB (3 % smaller) for 2.5-7x the encode time (docs/FORMAT.md §9).
 */
export const DEFAULT_DELTA_QUALITY = 9;
const IN_FLIGHT = 8;
/** Files below this size are read in one call of their size. */
const SMALL_FILE = 256 * 1024;

/**
 * Publishes a build directory as a release: packs (new chunks only), then the manifest, then the signed
 * channel pointer last (UploadSession enforces that order on any store). Memory is bounded by IN_FLIGHT
 * chunks, whatever the file sizes.
 */
export async function publish(options: PublishOptions): Promise<PublishResult> {
  const backend = await openStore(options.repo, options.s3);
  try {
    // Held from before the channel is read until after the pointer is written: one publisher at a time.
    return await withRepoLock(backend, "publish", async (lock) => {
      const store = new UploadSession(backend, {
        ...options.upload,
        ...(options.onEvent ? { onEvent: options.onEvent } : {}),
      });
      try {
        return await publishInto(store, options, lock);
      } catch (error) {
        await store.abandon(); // no upload may outlive the failed publish (nor the store's connections)
        throw error;
      }
    });
  } finally {
    // A store this call opened (s3://) holds connections and a temp directory.
    if (backend !== options.repo) await backend.close?.();
  }
}

/**
 * The whole publish into `store`. `refused`, when given (planPublish), receives each guard rail's
 * E_UNSAFE_PUBLISH instead of it being thrown, and the publish goes on as if it had been overridden.
 */
export async function publishInto(
  store: UploadSession,
  options: PublishOptions,
  lock: RepoLock,
  refused?: (error: FerryError) => void,
): Promise<PublishResult> {
  // A dry run (planPublish, which passes `refused`) reads the stat cache but never replaces it.
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const cache =
    cacheDir === false
      ? undefined
      : await StatCache.open(
          cacheDir,
          options.buildDir,
          store.location,
          options.chunking ?? DEFAULT_CHUNKING,
          refused === undefined,
        );
  try {
    const result = await publishWith(store, options, lock, refused, cache);
    await cache?.commit(); // after the publish committed: its chunks are in the repository
    return result;
  } catch (error) {
    await cache?.abandon();
    throw error;
  }
}

async function publishWith(
  store: UploadSession,
  options: PublishOptions,
  lock: RepoLock,
  refused: ((error: FerryError) => void) | undefined,
  cache: StatCache | undefined,
): Promise<PublishResult> {
  const guard = (check: () => void): void => {
    try {
      check();
    } catch (error) {
      if (!refused || !(error instanceof FerryError) || error.code !== "E_UNSAFE_PUBLISH") throw error;
      refused(error);
    }
  };
  const channel = options.channel ?? "stable";
  checkChannelName(channel);
  if (!VERSION_PATTERN.test(options.version)) {
    throw new FerryError(
      "E_USAGE",
      `Invalid version ${JSON.stringify(options.version)}: use letters, digits and . + _ - (at most 64).`,
      { version: options.version },
    );
  }
  checkRuntimeName(options.runtime);
  const chunking = options.chunking ?? DEFAULT_CHUNKING;
  const quality = options.quality ?? 8;
  if (!Number.isInteger(quality) || quality < 0 || quality > 11) {
    throw new FerryError("E_USAGE", `Invalid Brotli quality ${quality}: use an integer from 0 to 11.`, {
      quality,
    });
  }
  const deltaSettings: DeltaSettings = {
    history: checkedInteger(
      "deltaHistory",
      options.deltaHistory ?? DEFAULT_DELTA_HISTORY,
      0,
      MAX_DELTAS_PER_FILE,
    ),
    maxFileBytes: checkedInteger(
      "deltaMaxFileBytes",
      options.deltaMaxFileBytes ?? DEFAULT_DELTA_MAX_FILE,
      0,
      Number.MAX_SAFE_INTEGER,
    ),
    quality: checkedInteger("deltaQuality", options.deltaQuality ?? DEFAULT_DELTA_QUALITY, 0, 11),
  };
  const keys = "keyid" in options.key ? [options.key as SigningKey] : (options.key as readonly SigningKey[]);
  const now = options.created ?? new Date();
  await store.write("ferry-repo.json", new TextEncoder().encode('{"format":1,"type":"ferry-repo"}\n'));
  // Trust first: a publish that clients would reject fails before any work.
  const { root, created: rootCreated } = await ensureRoot(store, keys, now, options.rootExpiresInDays);
  if (rootCreated) options.onEvent?.({ type: "root-created", keyids: keys.map((k) => k.keyid) });
  requireReleaseKeys(root.body, keys, now);
  // The pointer this publish replaces, and its tag: the pointer write is a compare-and-swap on it.
  const pointerPath = `channels/${channel}.json`;
  const base = await readForSwap(store, pointerPath);
  const previousPointer =
    base.data && (await verifiedPointer(await loadRootChain(store), base.data, pointerPath));
  const expires = expiryAfterDays(now, options.expiresInDays ?? DEFAULT_POINTER_EXPIRY_DAYS);
  guard(() => requireVersionAbove(options, previousPointer, channel));
  guard(() =>
    requireSafeExpiry(expires, options.allowShortExpiry === true, "--allow-short-expiry", [
      ...(lock.storeTime ? [{ source: `the clock of ${store.location}`, time: lock.storeTime }] : []),
      ...(previousPointer
        ? [{ source: `the current pointer's publish time`, time: new Date(previousPointer.published) }]
        : []),
    ]),
  );

  // The build is read through the FileSystem port (scan, chunking, delta targets, packages config).
  const buildFs = new NodeFileSystem();
  options.onEvent?.({ type: "phase", phase: "scan", buildDir: options.buildDir });
  const { rules: packageRules, files } = await loadPackageRules(
    options.buildDir,
    await scanBuildDirectory(options.buildDir, { fs: buildFs, links: true }),
    buildFs,
  );
  if (files.length === 0 && options.allowEmpty !== true) {
    guard(() => {
      throw new FerryError(
        "E_UNSAFE_PUBLISH",
        `The build directory ${options.buildDir} has no files: every client updating to ${options.version} would delete the whole game (their own files stay). Check the build step; pass --allow-empty (allowEmpty) only if an empty release is really meant.`,
        { reason: "empty", flag: "--allow-empty", path: options.buildDir },
      );
    });
  }
  const totalBytes = files.reduce((s, f) => s + f.size, 0);
  options.onEvent?.({ type: "scan", files: files.length, bytes: totalBytes });
  options.onEvent?.({ type: "phase", phase: "chunk", files: files.length, bytes: totalBytes });

  const known = await loadChunkIndex(store);
  const history =
    deltaSettings.history > 0 ? await loadHistory(store, previousPointer, deltaSettings.history) : [];
  // Files at a path of the previous release (delta candidates) go into blocks apart from new paths, so a
  // client building them from deltas does not fetch their blocks for a new file's sake.
  const previousPaths = new Set(history[0]?.files.keys() ?? []);
  // location is set once the chunk is appended; every append is awaited before locations are resolved.
  const fresh = new Map<
    string,
    { size: number; codec: Codec; location: PendingLocation | undefined; solid?: SolidLocation | undefined }
  >();
  const packs = new PackWriter(store, options.maxPackSize ?? DEFAULT_MAX_PACK);
  const solid = solidPacker(options.solid, buildFs);
  const pendingFiles: {
    file: (typeof files)[number];
    sha256: string;
    chunks: { hash: string; size: number }[];
  }[] = [];
  // Compressions in flight across files (a small file does not wait for its own before the next is read);
  // each append waits for the one before it, so packs stay deterministic.
  const inFlight: Promise<void>[] = [];
  const encoder = limitedBrotli(nodeBrotli, Math.max(1, Math.min(availableParallelism(), 3)));
  let bytesDone = 0;
  let chunkCount = 0;
  let cachedFiles = 0;
  let bytesRead = 0;
  let reportedAt = 0;

  const fileDone = (path: string, index: number): void =>
    options.onEvent?.({
      type: "file",
      path,
      done: index + 1,
      total: files.length,
      bytesDone,
      bytesTotal: totalBytes,
    });

  for (const [index, file] of files.entries()) {
    if (file.link !== undefined) {
      // A link's content is its target, carried in the manifest: nothing goes into a pack.
      pendingFiles.push({ file, sha256: sha256(new TextEncoder().encode(file.link)), chunks: [] });
      fileDone(file.path, index);
      continue;
    }
    const cached = await cache?.lookup(file.path, file.identity);
    if (cached && cachedInRepository(cached, file.size, known)) {
      // Unchanged since the last publish (same identity), and every chunk is stored: nothing to read.
      pendingFiles.push({ file, sha256: cached.sha256, chunks: [...cached.chunks] });
      cache!.record(file.path, file.identity, file.changedMs, cached);
      chunkCount += cached.chunks.length;
      cachedFiles++;
      bytesRead += file.size;
      bytesDone += file.size;
      fileDone(file.path, index);
      continue;
    }
    const chunker = new Chunker(chunking);
    const fileHash = sha256Stream();
    const chunks: { hash: string; size: number }[] = [];
    const inBlocks = solid?.takes(file.size) === true;
    let fileOffset = 0;
    const handle = async (data: Uint8Array): Promise<void> => {
      const hash = sha256(data);
      const offset = fileOffset;
      fileOffset += data.length;
      chunks.push({ hash, size: data.length });
      chunkCount++;
      if (known.has(hash) || fresh.has(hash)) return;
      if (inBlocks) {
        // Placed (and read again from the build) when the blocks are built, after every file.
        const group = previousPaths.has(file.path) ? 1 : 0;
        fresh.set(hash, solid!.add(hash, data.length, file.path, file.absolute, offset, group));
        return;
      }
      const entry: { size: number; codec: Codec; location: PendingLocation | undefined } = {
        size: data.length,
        codec: "raw",
        location: undefined,
      };
      fresh.set(hash, entry);
      // Compression runs in the thread pool; appends stay in order so packs are deterministic.
      const encoded = encodeChunkMeasured(encoder, new Uint8Array(data), quality);
      const previous = inFlight.at(-1) ?? Promise.resolve();
      const appended = (async () => {
        const { codec, bytes } = await encoded;
        await previous;
        entry.codec = codec;
        entry.location = await packs.append(hash, data.length, codec, bytes);
      })();
      appended.catch(() => undefined); // awaited below or by the next append; not an unhandled rejection
      inFlight.push(appended);
      if (inFlight.length >= IN_FLIGHT) await inFlight.shift();
    };
    try {
      // readBlocks reuses its buffer: the hash and the chunker (which copies) consume each block at once.
      // A small file is one read of its size (+1, to see it grow): readBlocks allocates 1 MiB per file.
      const blocks =
        file.size < SMALL_FILE
          ? [await buildFs.readRange(file.absolute, 0, file.size + 1)]
          : buildFs.readBlocks(file.absolute);
      for await (const block of blocks) {
        fileHash.update(block);
        for (const chunk of chunker.push(block)) await handle(chunk);
        bytesRead += block.length;
        if (options.onEvent && bytesRead - reportedAt >= CHUNK_PROGRESS_BYTES) {
          reportedAt = bytesRead;
          options.onEvent({
            type: "chunk-progress",
            path: file.path,
            bytesDone: bytesRead,
            bytesTotal: totalBytes,
            chunks: chunkCount,
            newChunks: fresh.size,
          });
        }
      }
    } catch (error) {
      throw ioError("read", file.absolute, error);
    }
    for (const chunk of chunker.finish()) await handle(chunk);
    if (fileHash.length !== file.size) {
      throw new FerryError(
        "E_IO",
        `${file.absolute} changed size while being published (${file.size} -> ${fileHash.length}); publish from a build directory nothing else writes to.`,
        { path: file.absolute },
      );
    }
    const digest = fileHash.digest();
    pendingFiles.push({ file, sha256: digest, chunks });
    cache?.record(file.path, file.identity, file.changedMs, { sha256: digest, chunks });
    bytesDone += file.size;
    fileDone(file.path, index);
  }
  await Promise.all(inFlight);
  // Solid blocks follow the per-chunk objects; deltas come after both, in file order: deterministic.
  if (solid) {
    // Live chunks of blocks this release mostly no longer uses are packed again, densely: a fresh
    // install then does not fetch old blocks for a few chunks each.
    for (const chunk of sparseBlockChunks(pendingFiles, known, fresh)) {
      fresh.set(chunk.hash, solid.add(chunk.hash, chunk.size, chunk.path, chunk.absolute, chunk.offset, 0));
    }
    await solid.flush(packs);
  }
  // Deltas are appended to the same packs, after every chunk, in file order: deterministic.
  const policy = publishPolicy(options, previousPointer, channel);
  const deltasByPath = new Map<string, BuiltDelta[]>();
  let newDeltaBytes = 0;
  let newDeltas = 0;
  if (history.length > 0) {
    options.onEvent?.({
      type: "phase",
      phase: "delta",
      releases: history.length,
      files: pendingFiles.length,
    });
    // A chunk in a solid block counts its whole block: a client fetches the block for it unless it
    // builds the file from a delta, so deltas are kept as for chunks stored alone.
    const storedLength = (hash: string): number =>
      fresh.get(hash)?.location?.length ?? known.get(hash)!.length;
    const keepDelta = async (hash: string, bytes: Uint8Array): Promise<void> => {
      if (known.has(hash) || fresh.has(hash)) return;
      const entry = {
        size: bytes.length,
        codec: "raw" as Codec,
        location: undefined as PendingLocation | undefined,
      };
      fresh.set(hash, entry);
      entry.location = await packs.append(hash, bytes.length, "raw", bytes);
      newDeltaBytes += bytes.length;
      newDeltas++;
    };
    for (const { file, sha256: hash, chunks } of pendingFiles) {
      if (file.link !== undefined) continue;
      const built = await deltasForFile(
        store,
        history,
        {
          path: file.path,
          absolute: file.absolute,
          size: file.size,
          sha256: hash,
          chunks: chunks.map((c) => ({ ...c, length: storedLength(c.hash) })),
        },
        deltaSettings,
        keepDelta,
        buildFs,
      );
      for (const d of built)
        options.onEvent?.({ type: "delta", path: file.path, from: d.from, bytes: d.size });
      if (built.length > 0) deltasByPath.set(file.path, built);
    }
  }
  await packs.close();
  options.onEvent?.({ type: "phase", phase: "manifest", files: pendingFiles.length });

  // Resolve locations: packs are numbered in order of first reference, so output is deterministic.
  const packIds: string[] = [];
  const packSizes = new Map<string, number>(packs.written.map((p) => [p.id, p.size]));
  const packIndex = new Map<string, number>();
  const refOf = (hash: string, size: number): ChunkRef => {
    // A chunk packed again by this publish (a sparse block's) takes its new location.
    const old: KnownChunk | undefined = fresh.has(hash) ? undefined : known.get(hash);
    const loc =
      old ??
      (() => {
        const f = fresh.get(hash)!;
        const location = f.location!;
        return {
          pack: location.pack!,
          offset: location.offset,
          length: location.length,
          codec: f.codec,
          packSize: packSizes.get(location.pack!)!,
          ...(f.solid ? { solid: f.solid } : {}),
        };
      })();
    if (old) packSizes.set(old.pack, old.packSize);
    let pack = packIndex.get(loc.pack);
    if (pack === undefined) {
      pack = packIds.length;
      packIds.push(loc.pack);
      packIndex.set(loc.pack, pack);
    }
    const inBlock = loc.solid ? { solid: loc.solid } : {};
    return { hash, size, pack, offset: loc.offset, length: loc.length, codec: loc.codec, ...inBlock };
  };
  const entries: FileEntry[] = pendingFiles.map(({ file, sha256: hash, chunks }) => ({
    path: file.path,
    size: file.size,
    sha256: hash,
    executable: file.executable,
    package: packageOf(packageRules, file.path),
    chunks: chunks.map((c) => refOf(c.hash, c.size)),
    ...(file.link === undefined ? {} : { link: file.link }),
    ...deltaRefs(deltasByPath.get(file.path), refOf),
  }));
  const runtimeField = options.runtime === undefined ? {} : { runtime: options.runtime };
  const manifest: Manifest = {
    format: 1,
    version: options.version,
    created: timestamp(now),
    previous: previousPointer?.manifest ?? null,
    chunking,
    packs: packIds.map((id) => ({ id, size: packSizes.get(id)! })),
    packages: usedPackages(
      packageRules,
      entries.map((e) => e.package),
    ),
    files: entries,
    ...releaseInfo(options),
  };
  const metadataHistory = checkedInteger(
    "metadataHistory",
    options.metadataHistory ?? DEFAULT_METADATA_HISTORY,
    0,
    MAX_DELTAS_PER_FILE,
  );
  const stored = await storeManifest(
    store,
    manifest,
    options.layout ?? "auto",
    history,
    metadataHistory,
    cache?.metadataPorts(nodePorts),
  );
  const manifestHash = stored.ref.hash;

  const serial = (previousPointer?.serial ?? 0) + 1;
  const body: PointerBody = {
    channel,
    version: options.version,
    serial,
    root: root.body.version,
    published: timestamp(now),
    expires,
    manifest: stored.ref,
    ...runtimeField,
    ...policy,
  };
  await store.writeIf(pointerPath, signPointer(body, keys), base.tag);
  await lock.assertHeld(); // a lock taken over as stale while we worked: the other writer owns the channel
  await store.commit();
  if (options.onEvent)
    for (const w of await expiryWarnings(store.backend)) options.onEvent({ type: "expiry-warning", ...w });
  return {
    version: options.version,
    channel,
    serial,
    manifestHash,
    manifestBytes: stored.ref.size,
    layout: stored.layout,
    metadataObjects: stored.objects,
    newMetadataObjects: stored.newObjects,
    files: entries.length,
    bytes: totalBytes,
    chunks: chunkCount,
    newChunks: fresh.size - newDeltas,
    newPacks: packs.written.length,
    storedBytes: packs.written.reduce((s, p) => s + p.size, 0),
    deltas: entries.reduce((n, e) => n + (e.deltas?.length ?? 0), 0),
    newDeltaBytes,
    metadataBundles: stored.bundles,
    metadataBundleBytes: stored.bundleBytes,
    cachedFiles,
  };
}

/** A cache entry is used only when its chunks add up to the file and the repository stores each of them. */
function cachedInRepository(
  cached: CachedContent,
  size: number,
  known: ReadonlyMap<string, KnownChunk>,
): boolean {
  let total = 0;
  for (const chunk of cached.chunks) {
    if (known.get(chunk.hash)?.size !== chunk.size) return false;
    total += chunk.size;
  }
  return total === size;
}

/** The manifest's `deltas` field for a file (absent when there are none). */
function deltaRefs(
  built: readonly BuiltDelta[] | undefined,
  refOf: (hash: string, size: number) => ChunkRef,
): { deltas: DeltaRef[] } | Record<string, never> {
  if (!built || built.length === 0) return {};
  const deltas = built.flatMap((d): DeltaRef[] => {
    const ref = refOf(d.hash, d.size);
    // Stored raw by keepDelta; an identical object stored earlier as a compressed chunk is not reused.
    if (ref.codec !== "raw" || ref.solid) return [];
    return [
      {
        from: d.from,
        fromSize: d.fromSize,
        hash: d.hash,
        size: d.size,
        pack: ref.pack,
        offset: ref.offset,
        length: ref.length,
      },
    ];
  });
  return deltas.length > 0 ? { deltas } : {};
}

function checkedInteger(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new FerryError("E_USAGE", `Invalid ${name} ${value}: use an integer from ${min} to ${max}.`, {
      [name]: value,
    });
  }
  return value;
}

/** Clients refuse a version not above the one they have: refused unless allowDowngrade. */
function requireVersionAbove(
  options: PublishOptions,
  previous: PointerBody | undefined,
  channel: string,
): void {
  if (!previous || options.allowDowngrade === true) return;
  if (compareVersions(options.version, previous.version) > 0) return;
  throw new FerryError(
    "E_UNSAFE_PUBLISH",
    `Version ${options.version} is not above ${previous.version}, the current release of channel '${channel}' (serial ${previous.serial}): every client on ${previous.version} would refuse it. Publish a higher version; pass --allow-downgrade (allowDowngrade) only to go back on purpose ('ferry rollout halt' withdraws a bad release safely).`,
    { reason: "version", flag: "--allow-downgrade", version: options.version, current: previous.version },
  );
}

/** A pointer's bytes verified under the root it names. */
async function verifiedPointer(
  chain: readonly { readonly body: Parameters<typeof verifyPointer>[1] }[],
  bytes: Uint8Array,
  path: string,
): Promise<PointerBody> {
  const pointer = parsePointer(bytes, path);
  const root = chain[pointer.claimedRoot - 1];
  if (!root) {
    throw new FerryError(
      "E_FORMAT",
      `${path} names root version ${pointer.claimedRoot}, which the repository lacks.`,
      { path },
    );
  }
  return (await verifyPointer(pointer, root.body, nodeCrypto)).body;
}

/** The channel's current pointer, verified under the root it names (its serial is the base for ours). */
export async function readPreviousPointer(
  store: RepoStore,
  channel: string,
): Promise<PointerBody | undefined> {
  const path = `channels/${channel}.json`;
  const bytes = await store.read(path);
  if (!bytes) return undefined;
  return verifiedPointer(await loadRootChain(store), bytes, path);
}
