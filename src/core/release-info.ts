import { FerryError } from "./errors.js";
import { MAX_NOTES_BYTES, RUNTIME_PATTERN, utf8Length } from "./manifest.js";

/**
 * The optional release information a publish records in the manifest (notes, runtime), validated so
 * that a client's parser accepts what the publisher writes.
 */
export function releaseInfo(options: { readonly notes?: string; readonly runtime?: string }): {
  notes?: string;
  runtime?: string;
} {
  const { notes, runtime } = options;
  if (notes !== undefined && utf8Length(notes) > MAX_NOTES_BYTES) {
    throw new FerryError(
      "E_USAGE",
      `Release notes are ${utf8Length(notes)} bytes; at most ${MAX_NOTES_BYTES} are allowed. Link to longer notes instead.`,
      { bytes: utf8Length(notes) },
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
