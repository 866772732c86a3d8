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

/**
 * `port` with at most `concurrency` async encodes running at once (the rest wait their turn, in order).
 * Node's thread pool has 4 threads shared with file I/O: with every thread busy compressing, each read
 * of the next file waited behind a compression (the publisher's main thread sat idle). One encode per
 * core keeps the cores busy and leaves a thread for reads.
 */
export function limitedBrotli(port: PublisherBrotli, concurrency: number): PublisherBrotli {
  let running = 0;
  const waiting: (() => void)[] = [];
  // A finishing encode hands its slot straight to the next waiter, so `running` never passes the cap.
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else running--;
  };
  return {
    decompress: (data, max) => port.decompress(data, max),
    compress: (data, options) => port.compress(data, options),
    async compressAsync(data, options) {
      if (running >= concurrency) await new Promise<void>((resolve) => waiting.push(resolve));
      else running++;
      try {
        return await port.compressAsync(data, options);
      } finally {
        release();
      }
    },
  };
}

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
