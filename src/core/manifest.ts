import { MAX_NOTES_BYTES, notesBytes, RUNTIME_PATTERN } from "./names.js";
import { canonicalBytes } from "./canonical-json.js";
import { type ChunkingParams, validateChunking } from "./chunker.js";
import { type Codec, isCodec } from "./codec.js";
import { FerryError } from "./errors.js";
import { isSha256Hex, type Sha256Hex } from "./hash.js";
import { resolveLinkTarget, SYMLINKS_FEATURE } from "./links.js";
import { checkFormatHeader, JsonReader } from "./json-reader.js";
import { assertSafePath, assertSafePathSet, comparePaths } from "./paths.js";
import {
  checkBlockAgreement,
  SOLID_FEATURE,
  type SolidLocation,
  solidLocationProblem,
} from "./solid-block.js";

/** Release manifest, docs/FORMAT.md §5. */
export interface ChunkRef {
  readonly hash: Sha256Hex;
  readonly size: number;
  readonly pack: number;
  readonly offset: number;
  readonly length: number;
  readonly codec: Codec;
  /**
   * Set when the location is a solid block (feature "solid", docs/FORMAT.md §4.1): the stored bytes decode
   * to `blockSize` bytes and the chunk is the `size` bytes at `blockOffset` of them.
   */
  readonly solid?: SolidLocation;
}

/** A chunk's tuple in the inline form (and recipes): 6 elements, 8 for a chunk in a solid block. */
export function chunkTuple(c: ChunkRef, pack: number = c.pack): unknown[] {
  const tuple: unknown[] = [c.hash, c.size, pack, c.offset, c.length, c.codec];
  if (c.solid) tuple.push(c.solid.blockSize, c.solid.blockOffset);
  return tuple;
}

/** The features a release's content needs in `requires` (the layout adds its own). */
export function contentFeatures(manifest: Manifest): string[] {
  return [
    ...(manifest.files.some((f) => f.link !== undefined) ? [SYMLINKS_FEATURE] : []),
    ...(manifest.files.some((f) => f.chunks.some((c) => c.solid)) ? [SOLID_FEATURE] : []),
  ];
}

/**
 * A binary delta (docs/FORMAT.md §9) that rebuilds a file from an earlier version of it. Stored in a pack
 * like a raw chunk (the delta is already compressed per window), so `length === size`.
 */
export interface DeltaRef {
  /** SHA-256 and size of the source content the delta applies to. */
  readonly from: Sha256Hex;
  readonly fromSize: number;
  /** SHA-256 and byte length of the delta object itself. */
  readonly hash: Sha256Hex;
  readonly size: number;
  readonly pack: number;
  readonly offset: number;
  readonly length: number;
}

export interface FileEntry {
  readonly path: string;
  readonly size: number;
  readonly sha256: Sha256Hex;
  readonly executable: boolean;
  readonly package: string;
  readonly chunks: readonly ChunkRef[];
  /**
   * A symbolic link (feature "symlinks"): its relative target. A link has size 0, no chunks, no deltas,
   * executable false, and `sha256` is the SHA-256 of the target's UTF-8 bytes.
   */
  readonly link?: string;
  /** Optional: deltas from earlier versions (absent or empty: none). Older readers ignore the field. */
  readonly deltas?: readonly DeltaRef[];
}

/** At most this many deltas per file (one per distinct earlier content). */
export const MAX_DELTAS_PER_FILE = 8;
/** A client holds one delta object in memory while applying it, so its size is bounded. */
export const MAX_DELTA_SIZE = 64 * 1024 * 1024;

export interface PackRef {
  readonly id: Sha256Hex;
  readonly size: number;
}

export interface ObjectRef {
  readonly hash: Sha256Hex;
  readonly size: number;
}

export interface Manifest {
  readonly format: 1;
  readonly version: string;
  readonly created: string;
  readonly previous: ObjectRef | null;
  readonly chunking: ChunkingParams;
  readonly packs: readonly PackRef[];
  readonly packages: Readonly<Record<string, { readonly optional: boolean }>>;
  readonly files: readonly FileEntry[];
  /** Optional release notes shown by an update screen (plain text, at most MAX_NOTES_BYTES). */
  readonly notes?: string;
  /** Optional: the runtime the release needs (docs/PACKAGES.md); equal to the pointer's. */
  readonly runtime?: string;
}

export { MAX_NOTES_BYTES, RUNTIME_PATTERN };

export const VERSION_PATTERN = /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/;
export const TIME_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const PACKAGE_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const HASH_PATTERN = /^[0-9a-f]{64}$/;

export function manifestToJson(manifest: Manifest): unknown {
  return {
    format: 1,
    type: "ferry-release",
    requires: contentFeatures(manifest),
    version: manifest.version,
    created: manifest.created,
    previous: manifest.previous,
    chunking: manifest.chunking,
    packs: manifest.packs,
    packages: manifest.packages,
    // Omitted when unset, so manifests without a runtime keep their exact bytes.
    ...(manifest.runtime === undefined ? {} : { runtime: manifest.runtime }),
    files: manifest.files.map((f) => ({
      path: f.path,
      size: f.size,
      sha256: f.sha256,
      executable: f.executable,
      package: f.package,
      chunks: f.chunks.map((c) => chunkTuple(c)),
      ...(f.link === undefined ? {} : { link: f.link }),
      // Omitted when empty, so manifests without deltas keep their exact bytes.
      ...(f.deltas && f.deltas.length > 0
        ? {
            deltas: f.deltas.map((d) => ({
              from: d.from,
              fromSize: d.fromSize,
              hash: d.hash,
              size: d.size,
              pack: d.pack,
              offset: d.offset,
              length: d.length,
            })),
          }
        : {}),
    })),
    // Omitted when absent, so manifests without notes keep their exact bytes.
    ...(manifest.notes === undefined ? {} : { notes: manifest.notes }),
  };
}

/** Canonical (deterministic) bytes of a manifest, before compression. */
export function serializeManifest(manifest: Manifest): Uint8Array {
  return canonicalBytes(manifestToJson(manifest));
}

/** Parses and fully validates an untrusted manifest. */
export function parseManifest(json: unknown, document = "release manifest"): Manifest {
  const r = new JsonReader(document, json);
  checkFormatHeader(r, "ferry-release", [SYMLINKS_FEATURE, SOLID_FEATURE]);
  const linksAnnounced = r.has("requires") && r.array("requires").includes(SYMLINKS_FEATURE);
  const solidAnnounced = r.has("requires") && r.array("requires").includes(SOLID_FEATURE);
  const version = r.string("version", VERSION_PATTERN);
  const created = r.string("created", TIME_PATTERN);
  const prev = r.optionalObject("previous");
  const previous = prev ? { hash: prev.string("hash", HASH_PATTERN), size: prev.integer("size", 1) } : null;
  const c = r.object("chunking");
  const chunking: ChunkingParams = {
    algorithm: c.string("algorithm", /^fastcdc-gear32-v1$/) as "fastcdc-gear32-v1",
    min: c.integer("min"),
    avg: c.integer("avg"),
    max: c.integer("max"),
  };
  validateChunking(chunking);
  const packs = r
    .objects("packs")
    .map((p) => ({ id: p.string("id", HASH_PATTERN), size: p.integer("size") }));
  const packages: Record<string, { optional: boolean }> = {};
  for (const [name, p] of r.entries("packages")) {
    if (!PACKAGE_PATTERN.test(name)) throw malformed(document, `package name ${JSON.stringify(name)}`);
    packages[name] = { optional: p.boolean("optional") };
  }
  const files = r.objects("files").map((f): FileEntry => {
    const path = f.string("path");
    // Checked before any other field, so an unsafe path is always reported as such (E_UNSAFE_PATH).
    assertSafePath(path, document);
    const size = f.integer("size");
    const pkg = f.string("package", PACKAGE_PATTERN);
    if (!Object.hasOwn(packages, pkg)) throw malformed(document, `package ${JSON.stringify(pkg)} of ${path}`);
    let total = 0;
    const chunks = f.array("chunks").map((tuple, i): ChunkRef => {
      const chunk = parseChunkTuple(tuple, packs, chunking.max, solidAnnounced);
      if (!chunk) throw malformed(document, `chunk ${i} of ${path}`);
      total += chunk.size;
      return chunk;
    });
    if (total !== size)
      throw malformed(document, `size of ${path} (chunks sum to ${total}, size says ${size})`);
    const sha = f.string("sha256", HASH_PATTERN);
    const entry = { path, size, sha256: sha, executable: f.boolean("executable"), package: pkg, chunks };
    if (f.has("link")) {
      const link = f.string("link");
      if (!linksAnnounced)
        throw malformed(document, `link of ${path} (the release does not require "symlinks")`);
      resolveLinkTarget(path, link, document);
      if (size !== 0 || entry.executable || f.has("deltas"))
        throw malformed(document, `link ${path} (a link has size 0, no chunks, no deltas, executable false)`);
      return { ...entry, link };
    }
    if (!f.has("deltas")) return entry;
    const deltas = f.objects("deltas").map((d, i) => parseDelta(d, packs, document, `delta ${i} of ${path}`));
    if (deltas.length > MAX_DELTAS_PER_FILE)
      throw malformed(document, `deltas of ${path} (more than ${MAX_DELTAS_PER_FILE})`);
    const froms = new Set<string>();
    for (const d of deltas) {
      if (d.from === sha || froms.has(d.from))
        throw malformed(document, `deltas of ${path} (source ${d.from} repeated or equal to the file)`);
      froms.add(d.from);
    }
    return { ...entry, deltas };
  });
  // Collisions (including exact duplicates) are E_UNSAFE_PATH, so the set check comes before the order check.
  assertSafePathSet(
    files.map((f) => f.path),
    document,
  );
  for (let i = 1; i < files.length; i++) {
    if (comparePaths(files[i - 1]!.path, files[i]!.path) >= 0)
      throw malformed(document, "file order (must be sorted, unique)");
  }
  if (solidAnnounced)
    checkBlockAgreement(
      files.flatMap((f) => f.chunks),
      (what) => malformed(document, what),
    );
  const notes = r.has("notes") ? r.string("notes") : undefined;
  if (notes !== undefined && notesBytes(notes) > MAX_NOTES_BYTES)
    throw malformed(document, `notes (more than ${MAX_NOTES_BYTES} bytes)`);
  const runtime = r.has("runtime") ? r.string("runtime", RUNTIME_PATTERN) : undefined;
  return {
    format: 1,
    version,
    created,
    previous,
    chunking,
    packs,
    packages,
    files,
    ...(notes === undefined ? {} : { notes }),
    ...(runtime === undefined ? {} : { runtime }),
  };
}

function parseDelta(d: JsonReader, packs: readonly PackRef[], document: string, what: string): DeltaRef {
  const ref: DeltaRef = {
    from: d.string("from", HASH_PATTERN),
    fromSize: d.integer("fromSize"),
    hash: d.string("hash", HASH_PATTERN),
    size: d.integer("size", 1),
    pack: d.integer("pack"),
    offset: d.integer("offset"),
    length: d.integer("length", 1),
  };
  const packRef = packs[ref.pack];
  if (!packRef || ref.offset + ref.length > packRef.size) throw malformed(document, `location of ${what}`);
  if (ref.length !== ref.size || ref.size > MAX_DELTA_SIZE) throw malformed(document, `size of ${what}`);
  return ref;
}

function parseChunkTuple(
  tuple: unknown,
  packs: readonly PackRef[],
  maxSize: number,
  solidAnnounced: boolean,
): ChunkRef | undefined {
  // An 8-element tuple is a chunk in a solid block: only in a release that requires "solid".
  if (!Array.isArray(tuple) || !(tuple.length === 6 || (solidAnnounced && tuple.length === 8)))
    return undefined;
  const [hash, size, pack, offset, length, codec, blockSize, blockOffset] = tuple as unknown[];
  const ints = [size, pack, offset, length].every(
    (n) => typeof n === "number" && Number.isSafeInteger(n) && n >= 0,
  );
  if (!isSha256Hex(hash) || !ints || !isCodec(codec)) return undefined;
  const ref = {
    hash,
    size: size as number,
    pack: pack as number,
    offset: offset as number,
    length: length as number,
    codec,
  };
  const packRef = packs[ref.pack];
  if (
    !packRef ||
    ref.size === 0 ||
    ref.size > maxSize ||
    ref.length === 0 ||
    ref.offset + ref.length > packRef.size
  )
    return undefined;
  if (tuple.length === 8) {
    if (typeof blockSize !== "number" || typeof blockOffset !== "number") return undefined;
    const solid = { blockSize, blockOffset };
    if (solidLocationProblem(solid, ref.size, ref.length, codec)) return undefined;
    return { ...ref, solid };
  }
  if (codec === "raw" && ref.length !== ref.size) return undefined;
  return ref;
}

function malformed(document: string, what: string): FerryError {
  return new FerryError(
    "E_FORMAT",
    `${document} is malformed: invalid ${what}. The repository is corrupt or was written by an incompatible tool.`,
    {
      document,
      field: what,
    },
  );
}

export function totalSize(manifest: Manifest): number {
  return manifest.files.reduce((sum, f) => sum + f.size, 0);
}
