import type { LocalFile } from "../../core/planner.js";

/**
 * `force` (Ren'Py's update(force=True)): reinstall the channel's release in place. Every local file is
 * presented to the planner with a content id no SHA-256 can equal, so each target file is planned as a
 * write; its chunks (hashed from disk just now, the stat cache being ignored) remain usable as sources,
 * so only chunks missing locally are downloaded. Every file is then assembled, verified against the
 * manifest and committed through the normal journal, like any update.
 */
export function forceRewrite(files: readonly LocalFile[]): LocalFile[] {
  return files.map((file) => ({ ...file, sha256: `force-rewrite:${file.sha256}` }));
}
