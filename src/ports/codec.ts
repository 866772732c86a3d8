/**
 * Brotli, as the core's codec (src/core/codec.ts) needs it. The caps on every decode (checkDecodeLimits,
 * the declared size) stay in the core; an implementation only has to stop at `maxOutputLength`.
 * Synchronous: the browser's brotli is a WebAssembly decoder, which is synchronous too (DecompressionStream
 * does not offer brotli everywhere). The Node implementation is src/node/node-codec.ts.
 */
export interface Brotli {
  /**
   * Decodes `data`. Returns undefined as soon as the output would pass `maxOutputLength` (a bomb is
   * stopped at the cap, not decoded); throws on input that is not valid brotli or ends early.
   */
  decompress(data: Uint8Array, maxOutputLength: number): Uint8Array | undefined;
  /** Encodes `data` (publisher side). `windowBits` is brotli's LGWIN, `sizeHint` the input length. */
  compress(data: Uint8Array, options: BrotliEncodeOptions): Uint8Array;
}

export interface BrotliEncodeOptions {
  readonly quality: number;
  readonly windowBits: number;
  readonly sizeHint: number;
}

/**
 * The publisher's brotli: the same encoding, also off the main thread (Node's thread pool), so that a
 * publish compresses several chunks at once.
 */
export interface PublisherBrotli extends Brotli {
  compressAsync(data: Uint8Array, options: BrotliEncodeOptions): Promise<Uint8Array>;
}
