import { decode } from "../core/codec.js";
import { FerryError } from "../core/errors.js";
import type { FileEntry, Manifest } from "../core/manifest.js";
import { manifestToJson, parseManifest } from "../core/manifest.js";
import { type LocalFile, plan } from "../core/planner.js";
import { checkFreshness, type SignedPointer } from "../core/pointer.js";
import { selectRelease } from "../core/release-policy.js";
import { readRelease } from "../core/tree-read.js";
import type { TrustedRoot } from "../core/root.js";
import type { StoredRef } from "../core/tree.js";
import { defaultPackages, restrict } from "../core/selection.js";
import { assembleFile } from "../client/apply/assemble.js";
import { ChunkFetcher } from "../client/apply/fetcher.js";
import type { EventSink } from "../client/events.js";
import type { InstallLayout } from "../client/install/layout.js";
import { fetchNewestPointer } from "../client/remote/pointer-sources.js";
import { decodeManifestJson, RemoteRepository } from "../client/remote/remote.js";
import type { TrustAnchor } from "../client/remote/trust.js";
import type { Brotli } from "../ports/codec.js";
import type { Clock } from "../ports/clock.js";
import type { Crypto } from "../ports/crypto.js";
import type { FileSystem } from "../ports/fs.js";
import type { Host } from "../ports/host.js";
import type { Transport } from "../ports/transport.js";
import { type CurrentRecord, OBJECT_NAME, objectLayout, type ReleaseRecord, type WebStore } from "./store.js";

/** The ports and storage one runtime works with (all browser implementations, or test doubles). */
export interface EngineDeps {
  readonly app: string;
  readonly repoUrl: string;
  readonly channel: string;
  readonly trust: TrustAnchor;
  readonly store: WebStore;
  readonly fs: FileSystem;
  readonly transport: Transport;
  readonly crypto: Crypto;
  readonly brotli: Brotli;
  readonly clock: Clock;
  readonly host: Host;
  /** Attempts per request before an operation fails (default 5). */
  readonly maxAttempts: number;
  /** Free bytes the site may still store (navigator.storage.estimate), undefined when unknown. */
  readonly available: () => Promise<number | undefined>;
}

export interface Op {
  readonly emit: EventSink;
  readonly signal: AbortSignal | undefined;
}

/** What `check()` answers. */
export interface CheckResult {
  readonly available: boolean;
  readonly version: string;
  readonly installed: string | null;
  readonly serial: number;
  readonly manifestHash: string;
  readonly notes?: string;
  readonly mandatory: boolean;
}

/** What `update()` answers. */
export interface UpdateSummary {
  readonly updated: boolean;
  readonly version: string;
  readonly from: string | null;
  /** Bytes downloaded for file contents (pack ranges), metadata not included. */
  readonly bytes: number;
  readonly metadataBytes: number;
  readonly requests: number;
  readonly files: number;
  readonly deltas: number;
  readonly writtenBytes: number;
}

export function repository(deps: EngineDeps, op: Op): RemoteRepository {
  return new RemoteRepository(deps.repoUrl, deps.transport, deps.crypto, {
    maxAttempts: deps.maxAttempts,
    sleep: (ms, signal) => deps.clock.sleep(ms, signal),
    signal: op.signal,
    emit: op.emit,
  });
}

/** The pointer to follow, verified (root walk, signatures, expiry, rollback), and the release it picks. */
export async function resolvePointer(
  deps: EngineDeps,
  op: Op,
  repo: RemoteRepository,
  current: CurrentRecord | undefined,
): Promise<{
  pointer: SignedPointer;
  root: unknown;
  trusted: TrustedRoot;
  version: string;
  ref: SignedPointer["body"]["manifest"];
}> {
  const started = deps.clock.now();
  const verified = await fetchNewestPointer(
    repo,
    deps.channel,
    deps.trust,
    current?.trust,
    started,
    op.signal,
    op.emit,
    deps.crypto,
  );
  const body = verified.pointer.body;
  const url = repo.url(`channels/${deps.channel}.json`);
  const selection = await selectRelease(
    deps.crypto,
    body,
    // The id exists only once a rollout needs it (a bucket), as with the Node client.
    body.rollout ? (current?.installId ?? (await deps.store.installId(() => deps.host.randomId(16)))) : "",
    current && { version: current.version, manifest: { hash: current.manifestHash } as typeof body.manifest },
  );
  const chosen = { ...body, version: selection.target.version, manifest: selection.target.manifest };
  // A channel switch compares versions only: serials of different channels are unrelated.
  const switching = current !== undefined && current.channel !== deps.channel;
  const installed =
    current === undefined || verified.releaseKeysRotated
      ? undefined
      : {
          serial: switching ? 0 : current.serial,
          manifestHash: switching ? "" : current.manifestHash,
          version: current.version,
        };
  checkFreshness(chosen, started, installed, url, selection.downgradeAuthorised);
  return {
    pointer: verified.pointer,
    root: verified.root.document,
    trusted: verified.root,
    version: chosen.version,
    ref: chosen.manifest,
  };
}

/** The release a pointer names, fetched, verified and materialized (tree objects walked). */
export async function loadManifest(
  deps: EngineDeps,
  op: Op,
  repo: RemoteRepository,
  ref: SignedPointer["body"]["manifest"],
  deltasFrom: string | undefined,
): Promise<Manifest> {
  const where = repo.url(`manifests/${ref.hash}`);
  const bytes = await repo.manifestBytes(ref, op.signal);
  const json = await decodeManifestJson(deps, bytes, ref, where);
  const load = async (object: StoredRef, what: string) =>
    decode(deps.brotli, object.codec, await repo.objectBytes(object, what, op.signal), object.rawSize, what);
  const released = await readRelease(json, `release manifest ${where}`, load, {
    ...(deltasFrom === undefined ? {} : { deltasFrom }),
  });
  return released.manifest;
}

export function parseStoredManifest(record: ReleaseRecord): Manifest {
  return parseManifest(record.manifest, `stored release ${record.version}`);
}

/** Names of the objects stored (complete and verified: only such files are ever moved there). */
export async function storedObjects(deps: EngineDeps): Promise<Set<string>> {
  const layout = objectLayout(deps.app);
  return new Set((await deps.fs.readdir(layout.root)).filter((n) => OBJECT_NAME.test(n)));
}

/** The files an install of `manifest` holds: default packages plus the ones the player added. */
export function selectedFiles(manifest: Manifest, packages: readonly string[]): Manifest {
  const chosen = [
    ...defaultPackages(manifest),
    ...packages.filter((p) => Object.hasOwn(manifest.packages, p)),
  ];
  return restrict(manifest, { packages: chosen, paths: [] });
}

/**
 * Stores the contents of `files` (of release `manifest`) that are not stored yet: exactly their missing
 * chunks are fetched by single coalesced ranges (or a delta against a stored old file when cheaper),
 * each verified, each file assembled in staging, verified whole and moved to `objects/<sha256>`.
 * `sources` are files already stored (the old release) whose chunks and contents can be reused.
 */
export async function storeFiles(
  deps: EngineDeps,
  op: Op,
  repo: RemoteRepository,
  manifest: Manifest,
  files: readonly FileEntry[],
  sources: readonly FileEntry[],
  layout: InstallLayout = objectLayout(deps.app),
): Promise<{ bytes: number; files: number; deltas: number; writtenBytes: number; requests: number }> {
  const stored = await storedObjects(deps);
  const unique = new Map<string, FileEntry>();
  for (const file of files) {
    if (file.link !== undefined) {
      throw new FerryError(
        "E_SYMLINK",
        `Release ${manifest.version} has the symbolic link ${file.path}; the browser runtime stores no links. Publish the web build without links.`,
        { path: file.path },
      );
    }
    if (!stored.has(file.sha256) && !unique.has(file.sha256)) unique.set(file.sha256, file);
  }
  if (unique.size === 0) return { bytes: 0, files: 0, deltas: 0, writtenBytes: 0, requests: 0 };
  // Stored files as the planner's local files, named by their content hash: chunks and delta sources
  // are then read from objects/<sha256>.
  const local = new Map<string, LocalFile>();
  for (const file of sources) {
    if (!stored.has(file.sha256) || local.has(file.sha256) || file.link !== undefined) continue;
    local.set(file.sha256, {
      path: file.sha256,
      sha256: file.sha256,
      size: file.size,
      executable: false,
      chunks: file.chunks.map((c) => [c.hash, c.size] as const),
      tracked: false,
    });
  }
  const staged = new Set((await deps.fs.readdir(layout.stagedChunks)).filter((n) => OBJECT_NAME.test(n)));
  // Targets are renamed to their content hash too: the planner's "keep" never applies.
  const targets = [...unique.values()].map((f) => ({ ...f, path: `${f.sha256}.new`, executable: false }));
  const work = plan({ ...manifest, files: targets }, [...local.values()], staged);
  const available = await deps.available();
  const needed = work.downloadBytes + work.writeBytes;
  if (available !== undefined && needed > available) {
    throw new FerryError(
      "E_NO_SPACE",
      `Release ${manifest.version} needs about ${needed} bytes of browser storage (${work.downloadBytes} to download, ${work.writeBytes} to store) but this site may store only ${available} more. Nothing was changed. Free space, or grant persistent storage, then update again.`,
      { path: layout.root, needed, available },
    );
  }
  await deps.fs.mkdirp(layout.stagedChunks);
  await deps.fs.mkdirp(layout.stagedFiles);
  const fetcher = new ChunkFetcher({
    transport: deps.transport,
    clock: deps.clock,
    fs: deps.fs,
    host: deps.host,
    layout,
    repo,
    manifest,
    brotli: deps.brotli,
    crypto: deps.crypto,
    emit: op.emit,
    signal: op.signal,
    maxAttempts: deps.maxAttempts,
    // Single ranges only: a multi-range request is not CORS-safelisted (preflight) and S3/R2 ignore it.
    initialMode: "single",
  });
  await fetcher.fetch(work.ranges);
  let deltas = 0;
  for (const [done, write] of work.writes.entries()) {
    op.signal?.throwIfAborted();
    const hash = write.file.sha256;
    const built = await assembleFile(
      {
        fs: deps.fs,
        layout,
        refetch: (chunk) => fetcher.fetchOne(chunk),
        brotli: deps.brotli,
        crypto: deps.crypto,
      },
      write,
      hash,
    );
    if (built.from === "delta") deltas++;
    // Verified whole by assembleFile: only now does the object get its name. Another writer (the
    // service worker fetching on demand) may have stored the same content meanwhile: same bytes.
    try {
      await deps.fs.rename(layout.stagedFile(hash), layout.file(hash));
    } catch (error) {
      if (!(await deps.fs.stat(layout.file(hash)))) throw error;
      await deps.fs.unlink(layout.stagedFile(hash));
    }
    op.emit({ type: "assemble", path: unique.get(hash)!.path, done: done + 1, total: work.writes.length });
  }
  return {
    bytes: fetcher.bytesDownloaded,
    files: work.writes.length,
    deltas,
    writtenBytes: work.writeBytes,
    requests: fetcher.requests,
  };
}

/** Removes staged chunks and files once they are no longer needed (after a commit). */
export async function clearStaging(deps: EngineDeps, layout = objectLayout(deps.app)): Promise<void> {
  await deps.fs.removeTree(layout.staging);
}

/** The summary of a release the stored state names. */
export function releaseRecord(manifestHash: string, manifest: Manifest): ReleaseRecord {
  return { manifestHash, version: manifest.version, manifest: manifestToJson(manifest) };
}
