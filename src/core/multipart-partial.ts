import { parseContentRange } from "./multipart.js";

/**
 * The byte spans a multipart/byteranges body delivered before it was cut off: every complete part and
 * the received head of the part in flight. Used to keep what arrived (each chunk in it is still
 * hash-verified before use), so a resumed download repeats only the chunks that were in flight.
 * Stops silently at the first thing that is not a well-formed part: nothing after it is trusted.
 */
export function receivedParts(body: Uint8Array, boundary: string): { start: number; data: Uint8Array }[] {
  const buffer = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: { start: number; data: Uint8Array }[] = [];
  let position = buffer.indexOf(delimiter);
  while (position >= 0) {
    position += delimiter.length;
    if (buffer[position] === 0x2d && buffer[position + 1] === 0x2d) break; // closing "--"
    const headerEnd = buffer.indexOf("\r\n\r\n", position);
    if (headerEnd < 0) break;
    const headers = buffer.subarray(position, headerEnd).toString("latin1");
    const range = parseContentRange(/content-range:\s*([^\r\n]+)/i.exec(headers)?.[1]);
    if (!range) break;
    const dataStart = headerEnd + 4;
    const dataEnd = dataStart + (range.end - range.start);
    parts.push({ start: range.start, data: buffer.subarray(dataStart, Math.min(dataEnd, buffer.length)) });
    if (dataEnd >= buffer.length) break;
    position = buffer.indexOf(delimiter, dataEnd);
  }
  return parts;
}
