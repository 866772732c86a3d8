import { FerryError } from "./errors.js";
import { MAX_NOTES_BYTES, RUNTIME_PATTERN } from "./manifest.js";

/**
 * The optional release information a publish records in the manifest (notes, runtime), validated so
 * that a client's parser accepts what the publisher writes.
 */
export function releaseInfo(options: { readonly notes?: string; readonly runtime?: string }): {
  notes?: string;
  runtime?: string;
} {
  const { notes, runtime } = options;
  if (notes !== undefined && Buffer.byteLength(notes) > MAX_NOTES_BYTES) {
    throw new FerryError(
      "E_USAGE",
      `Release notes are ${Buffer.byteLength(notes)} bytes; at most ${MAX_NOTES_BYTES} are allowed. Link to longer notes instead.`,
      { bytes: Buffer.byteLength(notes) },
    );
  }
  if (runtime !== undefined && !RUNTIME_PATTERN.test(runtime)) {
    throw new FerryError(
      "E_USAGE",
      `Invalid runtime ${JSON.stringify(runtime)}: letters, digits, '.', '+', '_' or '-', at most 64.`,
      { runtime },
    );
  }
  return {
    ...(notes === undefined ? {} : { notes }),
    ...(runtime === undefined ? {} : { runtime }),
  };
}
