import { checkNotes, checkRuntimeName } from "./names.js";

/**
 * The optional release information a publish records in the manifest (notes, runtime), validated so
 * that a client's parser accepts what the publisher writes.
 */
export function releaseInfo(options: { readonly notes?: string; readonly runtime?: string }): {
  notes?: string;
  runtime?: string;
} {
  const { notes, runtime } = options;
  checkNotes(notes);
  checkRuntimeName(runtime);
  return {
    ...(notes === undefined ? {} : { notes }),
    ...(runtime === undefined ? {} : { runtime }),
  };
}
