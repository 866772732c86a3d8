import { FerryError } from "./errors.js";

/**
 * Globs over release paths ('/'-separated, docs/PACKAGES.md "Glob syntax"). A pattern matches the whole
 * path, never a part of it:
 * - `*` any run of characters within one segment (not '/'), `?` one character other than '/';
 * - `[abc]`, `[a-z]`, `[!a-z]` one character (other than '/') in / not in the set;
 * - `**` as a whole segment: any number of segments, including none (`a/**` = everything under `a/`);
 * - `\` makes the next character literal; everything else is literal and case-sensitive.
 * Compiled to a RegExp without backtracking hazards: every quantifier is over a '/'-free class or over
 * whole segments separated by '/'.
 */
export type Glob = (path: string) => boolean;

export function compileGlob(pattern: string): Glob {
  if (pattern === "" || pattern.startsWith("/") || pattern.endsWith("/")) {
    throw badGlob(pattern, "it must be a relative path that neither starts nor ends with '/'");
  }
  const segments = pattern.split("/");
  let source = "";
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1;
    if (segment === "**") {
      source += last ? "[^]+" : "(?:[^/]+/)*";
      return;
    }
    if (segment === "") throw badGlob(pattern, "it has an empty segment ('//')");
    source += compileSegment(segment, pattern) + (last ? "" : "/");
  });
  const regex = new RegExp(`^${source}$`, "u");
  return (path) => regex.test(path);
}

function compileSegment(segment: string, pattern: string): string {
  let out = "";
  const chars = [...segment];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === "\\") {
      const next = chars[++i];
      if (next === undefined) throw badGlob(pattern, "it ends with a lone '\\'");
      out += literal(next);
    } else if (c === "*") {
      if (chars[i + 1] === "*") throw badGlob(pattern, "'**' must be a whole segment, as in 'a/**/b'");
      out += "[^/]*";
    } else if (c === "?") {
      out += "[^/]";
    } else if (c === "[") {
      const end = chars.indexOf("]", i + 2);
      if (end < 0) throw badGlob(pattern, "a '[' has no closing ']'");
      let body = chars.slice(i + 1, end);
      const negate = body[0] === "!";
      if (negate) body = body.slice(1);
      if (body.length === 0) throw badGlob(pattern, "a character class is empty");
      let set = "";
      for (let j = 0; j < body.length; j++) {
        if (body[j + 1] === "-" && body[j + 2] !== undefined) {
          if (body[j]! > body[j + 2]!) throw badGlob(pattern, `range ${body[j]}-${body[j + 2]} is reversed`);
          set += `${literalInClass(body[j]!)}-${literalInClass(body[j + 2]!)}`;
          j += 2;
        } else set += literalInClass(body[j]!);
      }
      out += negate ? `(?![/])[^${set}]` : `(?![/])[${set}]`;
      i = end;
    } else out += literal(c);
  }
  return out;
}

function literal(c: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(c) ? `\\${c}` : c;
}

function literalInClass(c: string): string {
  return /[\\\]^[-]/.test(c) ? `\\${c}` : c;
}

function badGlob(pattern: string, why: string): FerryError {
  return new FerryError("E_USAGE", `Invalid glob ${JSON.stringify(pattern)}: ${why}.`, { pattern });
}
