import { FerryError } from "./errors.js";

/**
 * The one path validator (docs/FORMAT.md §1 "Paths", docs/SECURITY.md "Paths"). Publisher, client and
 * journal call it; mounts and archive extraction must too. Every rule is checked on the string alone,
 * before anything touches a file system, so a refused path can never cause a write.
 */

/** Limits from docs/FORMAT.md §1 "Paths". */
export const MAX_SEGMENT_BYTES = 255;
/**
 * 1024 UTF-8 bytes in total: below Linux PATH_MAX (4096) and macOS (1024) with room for the install
 * directory. Windows MAX_PATH (260 UTF-16 units) depends on the install directory, which a release cannot
 * know; long releases on Windows need long-path support enabled (documented in SECURITY.md).
 */
export const MAX_PATH_BYTES = 1024;

/** Stable identifiers of the rules a path can break (FerryError data.rule). */
export type PathRule =
  | "empty"
  | "invalid-utf8"
  | "path-too-long"
  | "lone-surrogate"
  | "absolute"
  | "drive-letter"
  | "not-nfc"
  | "empty-segment"
  | "dot-segment"
  | "backslash"
  | "control-character"
  | "colon"
  | "windows-invalid-character"
  | "trailing-dot-or-space"
  | "reserved-device-name"
  | "segment-too-long"
  | "reserved-ferry"
  | "collision"
  | "file-directory-conflict";

export interface PathViolation {
  readonly rule: PathRule;
  readonly reason: string;
}

/**
 * Windows device names, matched on the part before the first dot with trailing spaces removed
 * ("CON .txt" opens the console too). COM0/LPT0 and the superscript digits ¹²³ are devices on current
 * Windows; CONIN$/CONOUT$ are the console's input and output.
 */
const RESERVED_DEVICE =
  /^(con|prn|aux|nul|conin\$|conout\$|com[0-9\u00b9\u00b2\u00b3]|lpt[0-9\u00b9\u00b2\u00b3])$/i;
// C0 controls, DEL and C1 controls: invisible, terminal-escaping, and refused by some file systems.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const WINDOWS_INVALID = /[<>"|?*]/;
const DRIVE = /^[A-Za-z]:/;
// With the u flag a surrogate pair is one code point, so this matches only unpaired halves.
const LONE_SURROGATE = /[\ud800-\udfff]/u;
const utf8 = new TextEncoder();

function hex(c: string): string {
  return `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`;
}

function violation(rule: PathRule, reason: string): PathViolation {
  return { rule, reason };
}

/** The first rule `path` breaks (checked in a fixed order), or undefined when it is a safe release path. */
export function pathViolation(path: string): PathViolation | undefined {
  if (path.length === 0) return violation("empty", "the path is empty");
  // Checked first so the later byte counts are exact: a lone surrogate would be written as U+FFFD.
  if (LONE_SURROGATE.test(path))
    return violation("lone-surrogate", "the path contains a lone UTF-16 surrogate (not valid Unicode)");
  if (utf8.encode(path).length > MAX_PATH_BYTES)
    return violation("path-too-long", `the path is longer than ${MAX_PATH_BYTES} UTF-8 bytes`);
  if (path.startsWith("/")) return violation("absolute", "the path is absolute");
  if (path.startsWith("\\"))
    return violation("absolute", "the path is absolute (a Windows root or UNC path)");
  if (DRIVE.test(path)) return violation("drive-letter", "the path starts with a Windows drive letter");
  if (path.normalize("NFC") !== path) return violation("not-nfc", "the path is not NFC-normalized");
  const segments = path.split("/");
  for (const segment of segments) {
    if (segment === "")
      return violation("empty-segment", "the path has an empty segment (leading, trailing or doubled '/')");
    if (segment === "." || segment === "..")
      return violation("dot-segment", `the path has a '${segment}' segment`);
    if (segment.includes("\\"))
      return violation("backslash", "the path contains a backslash (a separator on Windows)");
    const control = CONTROL.exec(segment);
    if (control)
      return violation("control-character", `the path contains the control character ${hex(control[0])}`);
    if (segment.includes(":"))
      return violation("colon", "the path contains ':' (a drive letter or an NTFS alternate data stream)");
    const invalid = WINDOWS_INVALID.exec(segment);
    if (invalid)
      return violation(
        "windows-invalid-character",
        `the path contains '${invalid[0]}', which Windows forbids`,
      );
    if (segment.endsWith(".") || segment.endsWith(" "))
      return violation(
        "trailing-dot-or-space",
        `the segment '${segment}' ends with a dot or a space (Windows drops them)`,
      );
    if (RESERVED_DEVICE.test((segment.split(".")[0] ?? "").replace(/ +$/, "")))
      return violation("reserved-device-name", `'${segment}' is a reserved device name on Windows`);
    if (utf8.encode(segment).length > MAX_SEGMENT_BYTES)
      return violation("segment-too-long", `a segment is longer than ${MAX_SEGMENT_BYTES} UTF-8 bytes`);
  }
  // The same key as every other collision rule: ".FERRY", ".ferr\u00ADy" (soft hyphen) are .ferry on disk.
  if (collisionKey(segments[0] ?? "") === FERRY_KEY)
    return violation("reserved-ferry", "the path is inside .ferry/, which Ferry reserves");
  return undefined;
}

/** Why `path` is not a safe release path, or undefined when it is. */
export function unsafePathReason(path: string): string | undefined {
  return pathViolation(path)?.reason;
}

/** Throws E_UNSAFE_PATH (data: path, rule, reason, context) unless `path` is a safe release path. */
export function assertSafePath(path: string, context: string): void {
  const v = pathViolation(path);
  if (v !== undefined) {
    throw new FerryError(
      "E_UNSAFE_PATH",
      `Unsafe path ${JSON.stringify(path)} in ${context}: ${v.reason} [rule ${v.rule}]. Rename the file; Ferry only accepts portable relative paths.`,
      { path, rule: v.rule, reason: v.reason, context },
    );
  }
}

const IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;
const FERRY_KEY = ".ferry";

/**
 * The key two paths collide under on case-insensitive or normalizing file systems (NTFS, APFS, HFS+).
 * Deliberately broader than any one of them: NFC, default-ignorable code points (zero-width joiners,
 * which HFS+ ignores) removed, then lower/upper/lower casing, which applies Unicode's full mappings
 * ("ß", "ẞ" and "ss" meet; so do "ς", "σ" and "Σ", as on NTFS). A false collision only makes the
 * publisher ask for a rename; a missed one would let two files overwrite each other.
 */
export function collisionKey(path: string): string {
  return path
    .normalize("NFC")
    .replace(IGNORABLE, "")
    .toLowerCase()
    .toUpperCase()
    .toLowerCase()
    .normalize("NFC");
}

function unsafeSet(
  rule: PathRule,
  path: string,
  other: string,
  context: string,
  message: string,
): FerryError {
  return new FerryError("E_UNSAFE_PATH", `${message} [rule ${rule}]`, {
    path,
    other,
    context,
    rule,
    reason: rule,
  });
}

/**
 * Checks a whole set of paths: each is safe, none collide by case/normalization (collisionKey), and no
 * file is also a directory of another file.
 */
export function assertSafePathSet(paths: readonly string[], context: string): void {
  const seen = new Map<string, string>();
  for (const path of paths) {
    assertSafePath(path, context);
    const key = collisionKey(path);
    const other = seen.get(key);
    if (other !== undefined) {
      throw unsafeSet(
        "collision",
        path,
        other,
        context,
        other === path
          ? `Path ${JSON.stringify(path)} appears twice in ${context}. Each path may name one file.`
          : `Paths ${JSON.stringify(other)} and ${JSON.stringify(path)} in ${context} differ only in case or Unicode normalization and would collide on Windows and macOS. Rename one of them.`,
      );
    }
    seen.set(key, path);
  }
  for (const path of paths) {
    const segments = collisionKey(path).split("/");
    for (let i = 1; i < segments.length; i++) {
      const other = seen.get(segments.slice(0, i).join("/"));
      if (other !== undefined) {
        throw unsafeSet(
          "file-directory-conflict",
          path,
          other,
          context,
          `${JSON.stringify(other)} in ${context} is both a file and a directory of ${JSON.stringify(path)}. Rename one of them.`,
        );
      }
    }
  }
}

/** UTF-16 code unit order: the order manifests list files in. */
export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
