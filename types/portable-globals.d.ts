/**
 * The only globals the portable core may use beyond ES2023 (tsconfig.core.json): the WHATWG encoding
 * API, present in Node, browsers, workers and every WinterCG runtime. Declared here, narrowly, instead of
 * pulling in the DOM or Node types, so that anything else the core reached for would not compile.
 */
interface TextEncoder {
  encode(input?: string): Uint8Array;
}
declare const TextEncoder: { new (): TextEncoder };

interface TextDecoder {
  decode(input?: Uint8Array): string;
}
declare const TextDecoder: {
  new (label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean }): TextDecoder;
};
