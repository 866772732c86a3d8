import { FerryError } from "./errors.js";
import { MAX_PATH_BYTES, pathViolation } from "./paths.js";

/** The format feature a release announces in `requires` when it holds symbolic links (FORMAT.md §5). */
export const SYMLINKS_FEATURE = "symlinks";

/**
 * The release path a link at `path` with `target` points at, or a reason it is refused. A target is a
 * relative path: `..` segments only at its start, then names (no `.`, no empty segment). The link's
 * directory is a real directory of the release (nothing lies below a link), so the leading `..` climb
 * real directories and the rest only descends: followed through any chain of such links, a target
 * cannot leave the release. `.ferry/`, the root itself, absolute targets, backslashes, colons (drive
 * letters) and NULs are refused: the same release must mean the same tree everywhere.
 */
export function linkTargetProblem(path: string, target: string): { reason: string } | { resolved: string } {
  if (target.length === 0) return { reason: "the target is empty" };
  if (new TextEncoder().encode(target).length > MAX_PATH_BYTES)
    return { reason: `the target is longer than ${MAX_PATH_BYTES} bytes` };
  if (/[\0\\:]/.test(target)) return { reason: "the target contains a NUL, a backslash or a colon" };
  if (target.startsWith("/")) return { reason: "the target is absolute" };
  const resolved = path.split("/").slice(0, -1);
  let descending = false;
  for (const segment of target.split("/")) {
    if (segment === "" || segment === ".")
      return { reason: "the target has an empty or '.' segment (//, a trailing / or ./)" };
    if (segment === "..") {
      if (descending) return { reason: "the target has '..' after a name (only leading '..' are allowed)" };
      if (resolved.length === 0) return { reason: "the target leaves the release (too many ..)" };
      resolved.pop();
    } else {
      descending = true;
      resolved.push(segment);
    }
  }
  if (resolved.length === 0) return { reason: "the target is the release's root directory" };
  const joined = resolved.join("/");
  const violation = pathViolation(joined);
  if (violation) return { reason: `the target resolves to ${JSON.stringify(joined)}: ${violation.reason}` };
  return { resolved: joined };
}

/** Links followed at most (as POSIX's SYMLOOP_MAX): a longer chain is a loop. */
const MAX_HOPS = 40;

/**
 * Where `path` ends after following every link on the way (each link's target already accepted by
 * linkTargetProblem), or undefined for a loop. Used by the publisher to refuse links that point at
 * nothing in the build.
 */
export function followLinks(path: string, links: ReadonlyMap<string, string>): string | undefined {
  let current = path;
  for (let hops = 0; hops <= MAX_HOPS; hops++) {
    const segments = current.split("/");
    let followed = false;
    for (let i = 1; i <= segments.length; i++) {
      const prefix = segments.slice(0, i).join("/");
      const target = links.get(prefix);
      if (target === undefined) continue;
      const problem = linkTargetProblem(prefix, target);
      if (!("resolved" in problem)) return undefined;
      current = [problem.resolved, ...segments.slice(i)].join("/");
      followed = true;
      break;
    }
    if (!followed) return current;
  }
  return undefined;
}

/** Throws E_UNSAFE_PATH unless a link at `path` to `target` stays inside the release; returns where it points. */
export function resolveLinkTarget(path: string, target: string, context: string): string {
  const problem = linkTargetProblem(path, target);
  if ("resolved" in problem) return problem.resolved;
  throw new FerryError(
    "E_UNSAFE_PATH",
    `Unsafe symbolic link ${JSON.stringify(path)} -> ${JSON.stringify(target)} in ${context}: ${problem.reason}. Ferry only accepts relative links whose target stays inside the release.`,
    { path, target, reason: problem.reason, context },
  );
}
