import init, { BrotliStreamResultCode, DecompressStream } from "ferry:brotli-wasm";
import wasmBytes from "ferry:brotli-wasm-binary";
import { FerryError } from "../core/errors.js";
import type { Brotli } from "../ports/codec.js";

/**
 * The Brotli port in a browser: the decoder of brotli-wasm (Google's brotli decoder compiled from the
 * Rust `brotli` crate to WebAssembly), since no browser's DecompressionStream offers brotli. Its wasm is
 * inlined in the bundle (no second request, works in a service worker); `loadBrotli()` instantiates it
 * once. Decoding is streamed into bounded output blocks, so a bomb stops at `maxOutputLength`.
 * The browser never compresses: `compress` refuses.
 */
let ready: Promise<Brotli> | undefined;

export function loadBrotli(): Promise<Brotli> {
  return (ready ??= init(wasmBytes as Uint8Array<ArrayBuffer>).then(() => wasmBrotli));
}

/** Output block size: large enough that a typical chunk decodes in one call. */
const BLOCK = 4 * 1024 * 1024;

const wasmBrotli: Brotli = {
  decompress(data: Uint8Array, maxOutputLength: number): Uint8Array | undefined {
    const stream = new DecompressStream();
    const blocks: Uint8Array[] = [];
    let total = 0;
    let input = data;
    try {
      for (;;) {
        let result;
        try {
          result = stream.decompress(input, Math.min(BLOCK, maxOutputLength + 1));
        } catch (cause) {
          throw new Error(`invalid brotli data (${String(cause)})`);
        }
        const out = result.buf;
        const code = result.code;
        input = input.subarray(result.input_offset);
        result.free();
        total += out.length;
        if (total > maxOutputLength) return undefined;
        if (out.length > 0) blocks.push(out);
        if (code === BrotliStreamResultCode.ResultSuccess) break;
        if (code === BrotliStreamResultCode.NeedsMoreInput && input.length === 0)
          throw new Error("brotli data ends early");
      }
    } finally {
      stream.free();
    }
    if (blocks.length === 1) return blocks[0]!;
    const whole = new Uint8Array(total);
    let at = 0;
    for (const block of blocks) {
      whole.set(block, at);
      at += block.length;
    }
    return whole;
  },
  compress(): Uint8Array {
    throw new FerryError(
      "E_USAGE",
      "The browser runtime only decodes brotli; publish with the Node publisher (ferry publish).",
    );
  },
};
