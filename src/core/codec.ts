import type { Brotli, PublisherBrotli } from "../ports/codec.js";
import { FerryError } from "./errors.js";

/** Per-object codecs (docs/FORMAT.md §4). */
export type Codec = "raw" | "br";

export function isCodec(value: unknown): value is Codec {
  return value === "raw" || value === "br";
}

/** Compression pays only when it saves at least this fraction. */
const MIN_SAVING = 0.03;

export interface Encoded {
  readonly codec: Codec;
  readonly bytes: Uint8Array;
}

/**
 * The smallest brotli window that holds the input. A fixed large window made per-chunk compression
 * 14x slower (allocation per call) for identical output: measured 1.8 vs 24.7 MB/s at quality 9.
 */
export function windowBits(size: number): number {
  return Math.max(10, Math.min(24, Math.ceil(Math.log2(size + 1))));
}

/** Brotli at `quality` with the window fitted to the input: the one way Ferry compresses. */
export function brotli(port: Brotli, data: Uint8Array, quality: number): Uint8Array {
  return port.compress(data, { quality, sizeHint: data.length, windowBits: windowBits(data.length) });
}

/** Compresses with brotli, falling back to raw when the saving is below 3 %. */
export function encodeChunk(port: Brotli, data: Uint8Array, quality: number): Encoded {
  return worthCompressing(data)
    ? chooseEncoding(data, brotli(port, data, quality))
    : { codec: "raw", bytes: data };
}

/** encodeChunk on the publisher's threaded encoder (same output); `incompressible` skips the attempt. */
export async function encodeChunkAsync(
  port: PublisherBrotli,
  data: Uint8Array,
  quality: number,
  incompressible = false,
): Promise<Encoded> {
  if (incompressible || !worthCompressing(data)) return { codec: "raw", bytes: data };
  const options = { quality, sizeHint: data.length, windowBits: windowBits(data.length) };
  return chooseEncoding(data, await port.compressAsync(data, options));
}

/** Tiny inputs never shrink enough to pay for a codec. */
export function worthCompressing(data: Uint8Array): boolean {
  return data.length >= 64;
}

/** Keeps the compressed form only when it saves at least MIN_SAVING. */
export function chooseEncoding(raw: Uint8Array, compressed: Uint8Array): Encoded {
  return compressed.length <= raw.length * (1 - MIN_SAVING)
    ? { codec: "br", bytes: compressed }
    : { codec: "raw", bytes: raw };
}

/**
 * Caps on every decode (docs/SECURITY.md "Decompression"). The declared size comes from signed metadata,
 * but a bug or a stolen key must still not make a client allocate without bound:
 * - no object decodes to more than MAX_DECODED_BYTES;
 * - beyond RATIO_FLOOR (which covers every chunk, as chunks are at most 16 MiB) an object may not claim
 *   more than MAX_RATIO times its stored size (real manifests compress about 3x);
 * - the decoder stops as soon as the output passes the declared size, so memory stays within it.
 */
export const MAX_DECODED_BYTES = 256 * 1024 * 1024;
export const RATIO_FLOOR = 16 * 1024 * 1024;
export const MAX_RATIO = 1024;

/** Throws E_TOO_LARGE when an object of `storedSize` bytes may not decode to `declaredSize` bytes. */
export function checkDecodeLimits(
  codec: Codec,
  storedSize: number,
  declaredSize: number,
  what: string,
): void {
  const ratioCap = Math.max(RATIO_FLOOR, MAX_RATIO * storedSize);
  if (declaredSize > MAX_DECODED_BYTES || (codec !== "raw" && declaredSize > ratioCap)) {
    throw new FerryError(
      "E_TOO_LARGE",
      `${what} claims to decode to ${declaredSize} bytes from ${storedSize}; Ferry decodes at most ${MAX_DECODED_BYTES} bytes per object and, above ${RATIO_FLOOR} bytes, a ratio of at most ${MAX_RATIO}. The metadata is hostile or corrupt; nothing was decoded.`,
      { object: what, codec, storedSize, declaredSize },
    );
  }
}

/**
 * Decodes stored bytes; the output may not exceed `expectedSize` (a decompression bomb is E_TOO_LARGE
 * and a corrupt or short object E_HASH_MISMATCH, never an out-of-memory).
 */
export function decode(
  port: Brotli,
  codec: Codec,
  bytes: Uint8Array,
  expectedSize: number,
  what: string,
): Uint8Array {
  if (!Number.isSafeInteger(expectedSize) || expectedSize < 0) {
    throw new FerryError("E_FORMAT", `${what} has an invalid declared size ${expectedSize}.`, {
      object: what,
      expectedSize,
    });
  }
  checkDecodeLimits(codec, bytes.length, expectedSize, what);
  if (codec === "raw") {
    if (bytes.length !== expectedSize) throw sizeMismatch(what, expectedSize, bytes.length);
    return bytes;
  }
  let out: Uint8Array | undefined;
  try {
    out = port.decompress(bytes, expectedSize);
  } catch (cause) {
    throw new FerryError(
      "E_HASH_MISMATCH",
      `${what} does not decompress (${(cause as Error).message}); the object is corrupt or not what the manifest describes. Retry; if it persists, the repository is damaged.`,
      { object: what, codec },
      { cause },
    );
  }
  if (out === undefined) {
    throw new FerryError(
      "E_TOO_LARGE",
      `${what} decodes to more than its declared ${expectedSize} bytes (a decompression bomb or a corrupt object); decoding was stopped at the cap. Retry; if it persists, the repository is damaged or hostile.`,
      { object: what, codec, cap: expectedSize },
    );
  }
  if (out.length !== expectedSize) throw sizeMismatch(what, expectedSize, out.length);
  return out;
}

/**
 * Decodes a brotli object whose decoded size is not recorded (the publisher reading back what it wrote,
 * e.g. a manifest named by a `previous` reference): only the cap bounds it. E_FORMAT when it does not
 * decode within `cap`.
 */
export function decodeUpTo(port: Brotli, bytes: Uint8Array, cap: number, what: string): Uint8Array {
  let out: Uint8Array | undefined;
  let reason = `more than ${cap} bytes`;
  try {
    out = port.decompress(bytes, cap);
  } catch (cause) {
    reason = String(cause);
  }
  if (out === undefined) {
    throw new FerryError("E_FORMAT", `${what} does not decompress: ${reason}.`, { path: what });
  }
  return out;
}

function sizeMismatch(what: string, expected: number, actual: number): FerryError {
  return new FerryError(
    "E_HASH_MISMATCH",
    `${what} decodes to ${actual} bytes, expected ${expected}; the object is corrupt. Retry; if it persists, the repository is damaged.`,
    { object: what, expected, actual },
  );
}
