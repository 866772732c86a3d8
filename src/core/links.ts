import { FerryError } from "./errors.js";
import { MAX_PATH_BYTES, pathViolation } from "./paths.js";

/** The format feature a release announces in `requires` when it holds symbolic links (FORMAT.md §5). */
export const SYMLINKS_FEATURE = "symlinks";

/**
 * The release path a link at `path` with `target` points at, or a reason it is refused. A target is a
 * relative path of `/`-separated segments, resolved from the link's directory; it may use `..` but must
 * stay inside the release, and never reach `.ferry/` or the install root itself. Absolute targets,
 * backslashes, drive letters and NULs are refused: the same release must mean the same tree everywhere.
 */
export function linkTargetProblem(path: string, target: string): { reason: string } | { resolved: string } {
  if (target.length === 0) return { reason: "the target is empty" };
  if (new TextEncoder().encode(target).length > MAX_PATH_BYTES)
    return { reason: `the target is longer than ${MAX_PATH_BYTES} bytes` };
  if (/[\0\\:]/.test(target)) return { reason: "the target contains a NUL, a backslash or a colon" };
  if (target.startsWith("/")) return { reason: "the target is absolute" };
  const resolved = path.split("/").slice(0, -1);
  for (const segment of target.split("/")) {
    if (segment === "") return { reason: "the target has an empty segment (// or a trailing /)" };
    if (segment === ".") continue;
    if (segment === "..") {
      if (resolved.length === 0) return { reason: "the target leaves the release (too many ..)" };
      resolved.pop();
    } else resolved.push(segment);
  }
  if (resolved.length === 0) return { reason: "the target is the release's root directory" };
  const joined = resolved.join("/");
  const violation = pathViolation(joined);
  if (violation) return { reason: `the target resolves to ${JSON.stringify(joined)}: ${violation.reason}` };
  return { resolved: joined };
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
