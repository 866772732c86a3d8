import { FerryError } from "./errors.js";
import { indexOfBytes, latin1, utf8 } from "./bytes.js";

/** One part of a multipart/byteranges body (RFC 9110 §14.6). */
export interface BytePart {
  readonly start: number;
  readonly end: number; // exclusive
  /** The object's full length as the part claims it (undefined for `*`). */
  readonly total: number | undefined;
  readonly data: Uint8Array;
}

const HEADER_END = utf8("\r\n\r\n");

export function parseContentRange(
  value: string | undefined,
): { start: number; end: number; total: number | undefined } | undefined {
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(value?.trim() ?? "");
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = Number(m[2]) + 1;
  if (end <= start) return undefined;
  return { start, end, total: m[3] === "*" ? undefined : Number(m[3]) };
}

export function boundaryOf(contentType: string | undefined): string | undefined {
  const m = /^multipart\/byteranges\s*;.*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? "");
  return m ? (m[1] ?? m[2]) : undefined;
}

/** Parses a complete multipart/byteranges body; each part's length must match its Content-Range. */
export function parseMultipart(body: Uint8Array, boundary: string, url: string): BytePart[] {
  const buffer = body;
  const delimiter = utf8(`--${boundary}`);
  const parts: BytePart[] = [];
  let position = indexOfBytes(buffer, delimiter);
  const bad = (why: string) =>
    new FerryError(
      "E_RANGE",
      `The multipart range response from ${url} is malformed (${why}). The server or a proxy mangled it; Ferry will retry with single ranges.`,
      { url, why },
    );
  if (position < 0) throw bad("no boundary");
  while (true) {
    position += delimiter.length;
    if (buffer[position] === 0x2d && buffer[position + 1] === 0x2d) return parts; // closing "--"
    const headerEnd = indexOfBytes(buffer, HEADER_END, position);
    if (headerEnd < 0) throw bad("unterminated part headers");
    const headers = latin1(buffer.subarray(position, headerEnd));
    const rangeLine = /content-range:\s*([^\r\n]+)/i.exec(headers);
    const range = parseContentRange(rangeLine?.[1]);
    if (!range) throw bad("part without a valid Content-Range");
    const dataStart = headerEnd + 4;
    const dataEnd = dataStart + (range.end - range.start);
    if (dataEnd > buffer.length) throw bad("part shorter than its Content-Range");
    parts.push({
      start: range.start,
      end: range.end,
      total: range.total,
      data: buffer.subarray(dataStart, dataEnd),
    });
    position = indexOfBytes(buffer, delimiter, dataEnd);
    if (position < 0) throw bad("missing closing boundary");
  }
}
