import { NodeFileSystem } from "../node/node-fs.js";
import type { FileSystem } from "../ports/fs.js";
import { nodeBrotli } from "../node/node-codec.js";
import { readStoredChunk } from "./block-reader.js";
import { encodeDelta } from "../core/delta-encode.js";
import { FerryError, ioError } from "../core/errors.js";
import { sha256 } from "../node/node-crypto.js";
import { type FileEntry, MAX_DELTA_SIZE, type Manifest } from "../core/manifest.js";
import type { PointerBody } from "../core/pointer.js";
import { readStoredRelease } from "./release-reader.js";
import type { RepoStore } from "./repo-store.js";

/** Binary deltas from earlier releases of a channel (docs/FORMAT.md §9), publisher side. */
export interface DeltaSettings {
  /** How many earlier releases of the channel to build deltas from (0: none). */
  readonly history: number;
  /** Files (old or new) larger than this get no delta: the encoder holds both in memory. */
  readonly maxFileBytes: number;
  /** Brotli quality of the delta windows. */
  readonly quality: number;
}

/** A new file as publish knows it: content hash, and its chunks with their stored lengths. */
export interface NewFile {
  readonly path: string;
  readonly absolute: string;
  readonly size: number;
  readonly sha256: string;
  readonly chunks: readonly { readonly hash: string; readonly size: number; readonly length: number }[];
}

export interface BuiltDelta {
  readonly from: string;
  readonly fromSize: number;
  readonly hash: string;
  readonly size: number;
}

/** An earlier release, with its files by path. */
export interface PastRelease {
  /** SHA-256 of its stored manifest (what a client on that release has installed). */
  readonly hash: string;
  readonly manifest: Manifest;
  readonly files: ReadonlyMap<string, FileEntry>;
}

/** A delta is kept only when it is at most this fraction of the bytes a client would otherwise fetch. */
export const DELTA_KEEP_RATIO = 0.8;

/**
 * The channel's releases before this one, newest first, at most `count`: the pointer's manifest, then
 * each manifest's `previous`. The walk stops at a manifest the repository no longer has (pruned history);
 * a manifest whose bytes do not match its hash is an error (the repository is damaged).
 */
export async function loadHistory(
  store: RepoStore,
  pointer: PointerBody | undefined,
  count: number,
): Promise<PastRelease[]> {
  const history: PastRelease[] = [];
  let ref: { hash: string; size: number } | null = pointer?.manifest ?? null;
  while (ref && history.length < count) {
    const manifest = await readStoredRelease(store, ref);
    if (!manifest) break;
    // A link has no bytes to diff against: never a delta source.
    const files = manifest.files.filter((f) => f.link === undefined).map((f) => [f.path, f] as const);
    history.push({ hash: ref.hash, manifest, files: new Map(files) });
    ref = manifest.previous;
  }
  return history;
}

/** Rebuilds an earlier file from the repository's packs, verifying every chunk and the whole file. */
export async function readOldFile(
  store: RepoStore,
  manifest: Manifest,
  file: FileEntry,
): Promise<Uint8Array> {
  const out = new Uint8Array(file.size);
  let at = 0;
  for (const chunk of file.chunks) {
    const pack = `packs/${manifest.packs[chunk.pack]!.id}.pack`;
    const what = `chunk ${chunk.hash} of ${file.path} (release ${manifest.version}) in ${pack}`;
    // A missing pack, a short read or undecodable bytes all mean the same: this history is damaged.
    const data = await readStoredChunk(store, pack, chunk, what).catch(() => undefined);
    if (!data || sha256(data) !== chunk.hash) {
      throw new FerryError(
        "E_HASH_MISMATCH",
        `${what} is damaged or missing. Restore the repository from a backup, or publish with deltaHistory 0.`,
        { path: pack, offset: chunk.offset },
      );
    }
    out.set(data, at);
    at += data.length;
  }
  if (sha256(out) !== file.sha256) {
    throw new FerryError(
      "E_HASH_MISMATCH",
      `${file.path} of release ${manifest.version}, rebuilt from its chunks, does not match its sha256.`,
      { path: file.path },
    );
  }
  return out;
}

/**
 * Deltas for one new file from the same path in each earlier release (one per distinct old content),
 * kept only when worth it: at most DELTA_KEEP_RATIO of the stored bytes of the new chunks the old version
 * lacks (what a client holding the old version would otherwise download). Each kept delta's bytes go to
 * `keep` (which stores them) in a fixed order, so the output is deterministic.
 */
export async function deltasForFile(
  store: RepoStore,
  history: readonly PastRelease[],
  file: NewFile,
  settings: DeltaSettings,
  keep: (hash: string, bytes: Uint8Array) => Promise<void>,
  buildFs: FileSystem = defaultBuildFs,
): Promise<BuiltDelta[]> {
  if (settings.history === 0 || file.size > settings.maxFileBytes) return [];
  const built: BuiltDelta[] = [];
  const tried = new Set<string>([file.sha256]);
  let target: Uint8Array | undefined;
  for (const { manifest, files } of history) {
    const old = files.get(file.path);
    if (!old || tried.has(old.sha256) || old.size > settings.maxFileBytes) continue;
    tried.add(old.sha256);
    const oldChunks = new Set(old.chunks.map((c) => c.hash));
    const fresh = new Map(file.chunks.filter((c) => !oldChunks.has(c.hash)).map((c) => [c.hash, c.length]));
    const otherwise = [...fresh.values()].reduce((a, b) => a + b, 0);
    if (otherwise === 0) continue;
    target ??= await readNewFile(buildFs, file);
    const source = await readOldFile(store, manifest, old);
    const delta = encodeDelta(nodeBrotli, source, target, settings.quality);
    if (delta.length > DELTA_KEEP_RATIO * otherwise || delta.length > MAX_DELTA_SIZE) continue;
    const hash = sha256(delta);
    await keep(hash, delta);
    built.push({ from: old.sha256, fromSize: old.size, hash, size: delta.length });
  }
  return built;
}

const defaultBuildFs = new NodeFileSystem();

async function readNewFile(buildFs: FileSystem, file: NewFile): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await buildFs.readFile(file.absolute);
  } catch (error) {
    throw ioError("read", file.absolute, error);
  }
  if (bytes.length !== file.size || sha256(bytes) !== file.sha256) {
    throw new FerryError(
      "E_IO",
      `${file.absolute} changed while being published; publish from a build directory nothing else writes to.`,
      { path: file.absolute },
    );
  }
  return bytes;
}
