import type { Brotli } from "../ports/codec.js";
import type { Crypto } from "../ports/crypto.js";
import { toHex } from "./base64.js";
import { brotli } from "./codec.js";
import { applyDelta } from "./delta-apply.js";
import { encodeDelta } from "./delta-encode.js";
import { DeltaReader, writeVarint } from "./delta-format.js";
import { FerryError } from "./errors.js";
import { JsonReader } from "./json-reader.js";
import { checkMetadataRatio, METADATA_MAX_RATIO, METADATA_WORK_FLOOR } from "./metadata-limits.js";
import { OBJECT_QUALITY, type StoredRef, treeError } from "./tree.js";

/**
 * Metadata bundles (docs/FORMAT.md §5.4): the objects a client holding an earlier tree release needs to
 * read this one, as binary deltas against that release's objects, in one content-addressed object.
 * Every rebuilt object is checked against the SHA-256 of its decoded bytes listed in the (pinned) bundle,
 * then compressed as the publisher compresses objects; only a result that hashes to the object's ref is
 * used, so the tree walk sees exactly the bytes the signed chain names.
 */

/** The header field naming one bundle: the earlier release it applies to, and the bundle's bytes. */
export interface BundleRef {
  readonly from: string;
  readonly hash: string;
  readonly size: number;
}

/** One object of a bundle, parsed but not yet rebuilt. */
export interface BundleEntry {
  readonly ref: StoredRef;
  readonly rawHash: string;
  readonly base: StoredRef | undefined;
  readonly delta: Uint8Array;
}

/** What the publisher puts in a bundle: an object and, when it has one, its base in the earlier release. */
export interface BundleInput {
  readonly ref: StoredRef;
  readonly raw: Uint8Array;
  readonly base?: { readonly ref: StoredRef; readonly raw: Uint8Array } | undefined;
}

export const BUNDLE_MAGIC = [0x46, 0x4d, 0x42, 0x31]; // "FMB1"
/** A client holds one bundle in memory. */
export const MAX_BUNDLE_SIZE = 64 * 1024 * 1024;
/** The smallest entry: two hashes, three one-byte varints, the base flag, an empty delta's length... */
const MIN_ENTRY = 70;
const HASH = /^[0-9a-f]{64}$/;

/** The `bundles` of a tree header (absent: none). E_FORMAT for a malformed list or a repeated `from`. */
export function readBundleRefs(json: unknown, document: string): BundleRef[] {
  const header = new JsonReader(document, json);
  if (!header.has("bundles")) return [];
  const seen = new Set<string>();
  return header.objects("bundles").map((b, i) => {
    const from = b.string("from", HASH);
    const hash = b.string("hash", HASH);
    const size = b.integer("size", 1);
    if (seen.has(from)) throw treeError(document, `bundles[${i}] (source ${from} repeated)`);
    if (size > MAX_BUNDLE_SIZE)
      throw treeError(document, `bundles[${i}] (size ${size} above ${MAX_BUNDLE_SIZE})`);
    seen.add(from);
    return { from, hash, size };
  });
}

/** Encodes a bundle (publisher). Deterministic: the same inputs give the same bytes. */
export function encodeBundle(
  port: Brotli,
  entries: readonly BundleInput[],
  rawSha256: (bytes: Uint8Array) => string,
  quality = 11,
): Uint8Array {
  const parts: Uint8Array[] = [];
  const head: number[] = [...BUNDLE_MAGIC];
  writeVarint(head, entries.length);
  parts.push(Uint8Array.from(head));
  for (const entry of entries) {
    const fields: number[] = [];
    pushHash(fields, entry.ref.hash);
    writeVarint(fields, entry.ref.size);
    writeVarint(fields, entry.ref.rawSize);
    pushHash(fields, rawSha256(entry.raw));
    fields.push(entry.base ? 1 : 0);
    if (entry.base) {
      pushHash(fields, entry.base.ref.hash);
      writeVarint(fields, entry.base.ref.size);
      writeVarint(fields, entry.base.ref.rawSize);
    }
    const delta = encodeDelta(port, entry.base?.raw ?? new Uint8Array(0), entry.raw, quality);
    writeVarint(fields, delta.length);
    parts.push(Uint8Array.from(fields), delta);
  }
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Parses a verified bundle's entry headers and checks the work limits of §5.4 before any delta is
 * decoded: E_FORMAT for a malformed bundle, E_TOO_LARGE for sizes beyond what its bytes allow.
 */
export function parseBundle(bytes: Uint8Array, what: string): BundleEntry[] {
  const r = new BundleReader(bytes, what);
  const magic = r.take(4, "magic");
  if (!BUNDLE_MAGIC.every((b, i) => magic[i] === b)) r.fail("not a ferry-metadata-bundle-v1 object");
  const count = r.varint(Math.floor(bytes.length / MIN_ENTRY), "entry count");
  if (count === 0) r.fail("no entries");
  const entries: BundleEntry[] = [];
  const seen = new Set<string>();
  let work = 0;
  const ref = (hash: string, name: string): StoredRef => {
    const size = r.varint(Number.MAX_SAFE_INTEGER, `${name} size`);
    const rawSize = r.varint(Number.MAX_SAFE_INTEGER, `${name} raw size`);
    checkMetadataRatio(size, rawSize, `${name} ${hash} in ${what}`);
    work += rawSize;
    return { hash, size, codec: "br", rawSize };
  };
  for (let i = 0; i < count; i++) {
    const hash = toHex(r.take(32, "object hash"));
    if (seen.has(hash)) r.fail(`object ${hash} listed twice`);
    seen.add(hash);
    const object = ref(hash, "object");
    const rawHash = toHex(r.take(32, "decoded hash"));
    const flag = r.take(1, "base flag")[0]!;
    if (flag > 1) r.fail(`base flag ${flag}`);
    const base = flag === 1 ? ref(toHex(r.take(32, "base hash")), "base") : undefined;
    const delta = r.take(r.varint(r.remaining, "delta length"), "delta");
    entries.push({ ref: object, rawHash, base, delta });
  }
  if (r.remaining !== 0) r.fail("trailing bytes after the last entry");
  const cap = METADATA_WORK_FLOOR + METADATA_MAX_RATIO * bytes.length;
  if (work > cap)
    throw new FerryError(
      "E_TOO_LARGE",
      `The metadata bundle ${what} would decode ${work} bytes of objects and bases from ${bytes.length} stored; Ferry allows ${METADATA_MAX_RATIO} per stored byte plus ${METADATA_WORK_FLOOR} (${cap} here). The bundle is hostile or corrupt; nothing was decoded.`,
      { object: what, storedSize: bytes.length, rawSize: work, limit: cap },
    );
  return entries;
}

/**
 * The decoded bytes of one entry, from its base's decoded bytes (verified by the caller against the
 * base ref). E_HASH_MISMATCH when the result is not the listed content: the bundle is signed, so this
 * is an error, never a reason to fall back.
 */
export async function rebuildEntry(
  ports: { readonly brotli: Brotli; readonly crypto: Crypto },
  entry: BundleEntry,
  baseRaw: Uint8Array | undefined,
  what: string,
): Promise<Uint8Array> {
  const source = baseRaw ?? new Uint8Array(0);
  if (source.length !== (entry.base?.rawSize ?? 0))
    throw new FerryError(
      "E_FORMAT",
      `The base of ${what} has ${source.length} bytes, not ${entry.base?.rawSize ?? 0}.`,
      {
        object: what,
      },
    );
  const out = new Uint8Array(entry.ref.rawSize);
  let at = 0;
  const windows = applyDelta(
    ports.brotli,
    entry.delta,
    async (offset, length) => source.subarray(offset, offset + length),
    { sourceSize: source.length, targetSize: entry.ref.rawSize },
    what,
  );
  for await (const window of windows) {
    out.set(window, at);
    at += window.length;
  }
  const actual = await ports.crypto.sha256(out);
  if (actual !== entry.rawHash)
    throw new FerryError(
      "E_HASH_MISMATCH",
      `The metadata bundle's ${what} rebuilds to content with sha256 ${actual}, but the bundle lists ${entry.rawHash}. The bundle or its base is corrupt, or the publisher is broken; republish the release.`,
      { object: what, expected: entry.rawHash, actual },
    );
  return out;
}

/**
 * The stored bytes of a rebuilt object, compressed as the publisher compresses objects; undefined when
 * they do not hash to the ref (another Brotli encoder): the caller downloads that object instead.
 */
export async function restoreStored(
  ports: { readonly brotli: Brotli; readonly crypto: Crypto },
  raw: Uint8Array,
  ref: StoredRef,
): Promise<Uint8Array | undefined> {
  const stored = brotli(ports.brotli, raw, OBJECT_QUALITY);
  if (stored.length !== ref.size) return undefined;
  return (await ports.crypto.sha256(stored)) === ref.hash ? stored : undefined;
}

function pushHash(out: number[], hex: string): void {
  for (let i = 0; i < 64; i += 2) out.push(Number.parseInt(hex.slice(i, i + 2), 16));
}

/** DeltaReader's bounds checks, with failures naming the bundle. */
class BundleReader extends DeltaReader {
  constructor(
    bytes: Uint8Array,
    private readonly bundle: string,
  ) {
    super(bytes, bundle);
  }

  override fail(problem: string): never {
    throw new FerryError(
      "E_FORMAT",
      `The metadata bundle ${this.bundle} is malformed (${problem} at byte ${this.at}). The repository is corrupt or was written by an incompatible tool.`,
      { document: this.bundle, offset: this.at },
    );
  }
}
