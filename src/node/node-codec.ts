import { promisify } from "node:util";
import { brotliCompress, brotliCompressSync, brotliDecompressSync, constants } from "node:zlib";
import {
  type Codec,
  brotli as coreBrotli,
  decode as coreDecode,
  type Encoded,
  encodeChunk as coreEncodeChunk,
} from "../core/codec.js";
import type { BrotliEncodeOptions, PublisherBrotli } from "../ports/codec.js";

const brotliCompressAsync = promisify(brotliCompress);

function zlibParams({ quality, windowBits, sizeHint }: BrotliEncodeOptions): Record<number, number> {
  return {
    [constants.BROTLI_PARAM_QUALITY]: quality,
    [constants.BROTLI_PARAM_SIZE_HINT]: sizeHint,
    [constants.BROTLI_PARAM_LGWIN]: windowBits,
  };
}

/** The brotli port on node:zlib. */
export const nodeBrotli: PublisherBrotli = {
  decompress(data, maxOutputLength) {
    try {
      return brotliDecompressSync(data, { maxOutputLength: Math.max(1, maxOutputLength) });
    } catch (cause) {
      // Node stops at the cap and says so with this code: the port's "would pass the cap".
      if ((cause as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") return undefined;
      throw cause;
    }
  },
  compress: (data, options) => brotliCompressSync(data, { params: zlibParams(options) }),
  compressAsync: (data, options) => brotliCompressAsync(data, { params: zlibParams(options) }),
};

// The core codec bound to node:zlib, for Node-side code (publisher, tests, tools).

export function decode(codec: Codec, bytes: Uint8Array, expectedSize: number, what: string): Uint8Array {
  return coreDecode(nodeBrotli, codec, bytes, expectedSize, what);
}

export function brotli(data: Uint8Array, quality: number): Uint8Array {
  return coreBrotli(nodeBrotli, data, quality);
}

export function encodeChunk(data: Uint8Array, quality: number): Encoded {
  return coreEncodeChunk(nodeBrotli, data, quality);
}
