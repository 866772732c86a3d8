import { parseContentRange } from "./multipart.js";
import { indexOfBytes, latin1, utf8 } from "./bytes.js";

/**
 * The byte spans a multipart/byteranges body delivered before it was cut off: every complete part and
 * the received head of the part in flight. Used to keep what arrived (each chunk in it is still
 * hash-verified before use), so a resumed download repeats only the chunks that were in flight.
 * Stops silently at the first thing that is not a well-formed part: nothing after it is trusted.
 */
const HEADER_END = utf8("\r\n\r\n");

export function receivedParts(body: Uint8Array, boundary: string): { start: number; data: Uint8Array }[] {
  const buffer = body;
  const delimiter = utf8(`--${boundary}`);
  const parts: { start: number; data: Uint8Array }[] = [];
  let position = indexOfBytes(buffer, delimiter);
  while (position >= 0) {
    position += delimiter.length;
    if (buffer[position] === 0x2d && buffer[position + 1] === 0x2d) break; // closing "--"
    const headerEnd = indexOfBytes(buffer, HEADER_END, position);
    if (headerEnd < 0) break;
    const headers = latin1(buffer.subarray(position, headerEnd));
    const range = parseContentRange(/content-range:\s*([^\r\n]+)/i.exec(headers)?.[1]);
    if (!range) break;
    const dataStart = headerEnd + 4;
    const dataEnd = dataStart + (range.end - range.start);
    parts.push({ start: range.start, data: buffer.subarray(dataStart, Math.min(dataEnd, buffer.length)) });
    if (dataEnd >= buffer.length) break;
    position = indexOfBytes(buffer, delimiter, dataEnd);
  }
  return parts;
}
