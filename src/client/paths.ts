/**
 * Paths inside an install, joined with '/'. The root comes from Host.absolutePath (on Windows it may
 * hold backslashes: Windows accepts both separators); everything below it is built here from names the
 * client controls (`.ferry/...`) and validated release paths (no '..', no empty segment: docs/FORMAT.md),
 * so no normalisation beyond merging repeated slashes is needed.
 */
export function joinPath(...parts: readonly string[]): string {
  const joined = parts.filter((p) => p !== "").join("/");
  const merged = joined.replace(/\/{2,}/g, "/");
  return merged.length > 1 && merged.endsWith("/") ? merged.slice(0, -1) : merged;
}

/** The directory holding `path` ('/'-separated; "." for a bare name, "/" at the top). */
export function parentPath(path: string): string {
  const i = path.lastIndexOf("/");
  if (i < 0) return ".";
  return i === 0 ? "/" : path.slice(0, i);
}
