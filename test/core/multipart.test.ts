import assert from "node:assert/strict";
import { test } from "node:test";
import { isFerryError } from "../../src/core/errors.js";
import { boundaryOf, parseContentRange, parseMultipart } from "../../src/core/multipart.js";

function body(boundary: string, parts: [string, string][], preamble = "\r\n"): Buffer {
  const text =
    preamble +
    parts
      .map(
        ([range, data]) =>
          `--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes ${range}\r\n\r\n${data}\r\n`,
      )
      .join("") +
    `--${boundary}--\r\n`;
  return Buffer.from(text, "latin1");
}

test("parses multipart/byteranges parts with their ranges, totals and exact bytes", () => {
  const parts = parseMultipart(
    body("XYZ", [
      ["0-3/100", "abcd"],
      ["10-11/100", "kl"],
    ]),
    "XYZ",
    "u",
  );
  assert.deepEqual(
    parts.map((p) => [p.start, p.end, p.total, Buffer.from(p.data).toString()]),
    [
      [0, 4, 100, "abcd"],
      [10, 12, 100, "kl"],
    ],
  );
});

test("a part shorter than its Content-Range, a missing boundary or a missing Content-Range is E_RANGE", () => {
  const bad = [
    Buffer.from("\r\n--XYZ\r\nContent-Range: bytes 0-9/100\r\n\r\nabc", "latin1"),
    Buffer.from("no delimiter at all", "latin1"),
    Buffer.from("--XYZ\r\nContent-Type: x\r\n\r\nabcd\r\n--XYZ--\r\n", "latin1"),
    Buffer.from("--XYZ\r\nContent-Range: bytes 0-3/100\r\n\r\nabcd", "latin1"),
  ];
  for (const b of bad)
    assert.throws(
      () => parseMultipart(b, "XYZ", "http://x/p"),
      (e: unknown) => isFerryError(e, "E_RANGE"),
    );
});

test("Content-Range and boundary parsing", () => {
  assert.deepEqual(parseContentRange("bytes 5-9/20"), { start: 5, end: 10, total: 20 });
  assert.deepEqual(parseContentRange("bytes 5-9/*"), { start: 5, end: 10, total: undefined });
  assert.equal(parseContentRange("bytes 9-5/20"), undefined);
  assert.equal(parseContentRange("items 0-1/2"), undefined);
  assert.equal(parseContentRange(undefined), undefined);
  assert.equal(boundaryOf("multipart/byteranges; boundary=00000000000000000001"), "00000000000000000001");
  assert.equal(boundaryOf('multipart/byteranges; boundary="a b"'), "a b");
  assert.equal(boundaryOf("application/octet-stream"), undefined);
});
