import { FerryError } from "./errors.js";

/** Limits from docs/FORMAT.md §1 "Paths". */
export const MAX_SEGMENT_BYTES = 255;
export const MAX_PATH_BYTES = 1024;

const RESERVED_DEVICE = /^(con|prn|aux|nul|com[1-9]|lpt[1-9])$/i;
// Below U+0020, U+007F, backslash and colon are never allowed in a segment.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const FORBIDDEN_CHAR = /[\u0000-\u001f\u007f\\:]/;
const utf8 = new TextEncoder();

/** Returns why `path` is not a safe release path, or undefined when it is. */
export function unsafePathReason(path: string): string | undefined {
  if (path.length === 0) return "the path is empty";
  if (utf8.encode(path).length > MAX_PATH_BYTES) return `the path is longer than ${MAX_PATH_BYTES} bytes`;
  if (path.startsWith("/")) return "the path is absolute";
  if (path.normalize("NFC") !== path) return "the path is not NFC-normalized";
  const segments = path.split("/");
  for (const segment of segments) {
    if (segment === "") return "the path has an empty segment (leading, trailing or doubled '/')";
    if (segment === "." || segment === "..") return `the path has a '${segment}' segment`;
    const bad = FORBIDDEN_CHAR.exec(segment);
    if (bad)
      return `the path contains the forbidden character U+${bad[0].charCodeAt(0).toString(16).padStart(4, "0")}`;
    if (segment.endsWith(".") || segment.endsWith(" ")) return "a segment ends with a dot or a space";
    if (RESERVED_DEVICE.test(segment.split(".")[0] ?? ""))
      return `'${segment}' is a reserved device name on Windows`;
    if (utf8.encode(segment).length > MAX_SEGMENT_BYTES)
      return `a segment is longer than ${MAX_SEGMENT_BYTES} bytes`;
  }
  if (segments[0]?.toLowerCase() === ".ferry") return "the path is inside .ferry/, which Ferry reserves";
  return undefined;
}

export function assertSafePath(path: string, context: string): void {
  const reason = unsafePathReason(path);
  if (reason !== undefined) {
    throw new FerryError(
      "E_UNSAFE_PATH",
      `Unsafe path ${JSON.stringify(path)} in ${context}: ${reason}. Rename the file; Ferry only accepts portable relative paths.`,
      { path, reason, context },
    );
  }
}

/** The key two paths collide under on case-insensitive or normalizing file systems (macOS, Windows). */
export function collisionKey(path: string): string {
  return path.normalize("NFC").toLowerCase().normalize("NFC");
}

/**
 * Checks a whole set of paths: each is safe, none collide by case/normalization, and no file is also
 * a directory of another file.
 */
export function assertSafePathSet(paths: readonly string[], context: string): void {
  const seen = new Map<string, string>();
  for (const path of paths) {
    assertSafePath(path, context);
    const key = collisionKey(path);
    const other = seen.get(key);
    if (other !== undefined) {
      throw new FerryError(
        "E_UNSAFE_PATH",
        `Paths ${JSON.stringify(other)} and ${JSON.stringify(path)} in ${context} differ only in case or Unicode normalization and would collide on Windows and macOS. Rename one of them.`,
        { path, other, context, reason: "collision" },
      );
    }
    seen.set(key, path);
  }
  for (const path of paths) {
    const segments = collisionKey(path).split("/");
    for (let i = 1; i < segments.length; i++) {
      const prefix = segments.slice(0, i).join("/");
      const other = seen.get(prefix);
      if (other !== undefined) {
        throw new FerryError(
          "E_UNSAFE_PATH",
          `${JSON.stringify(other)} in ${context} is both a file and a directory of ${JSON.stringify(path)}.`,
          { path, other, context, reason: "file-directory-conflict" },
        );
      }
    }
  }
}

/** UTF-16 code unit order: the order manifests list files in. */
export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
