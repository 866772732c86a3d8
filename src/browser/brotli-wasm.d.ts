// The parts of the brotli-wasm package (its web build) the browser bundle uses. The package's exports
// map hides that build's files, so scripts/build-web.ts resolves these two names to them.
declare module "ferry:brotli-wasm" {
  export interface BrotliStreamResult {
    free(): void;
    readonly buf: Uint8Array;
    readonly code: number;
    readonly input_offset: number;
  }
  export class DecompressStream {
    constructor();
    free(): void;
    decompress(input: Uint8Array, outputSize: number): BrotliStreamResult;
    total_out(): number;
  }
  export const BrotliStreamResultCode: {
    readonly ResultSuccess: number;
    readonly NeedsMoreInput: number;
    readonly NeedsMoreOutput: number;
  };
  export default function init(module: BufferSource | WebAssembly.Module): Promise<unknown>;
}

declare module "ferry:brotli-wasm-binary" {
  const bytes: Uint8Array;
  export default bytes;
}
