import assert from "node:assert/strict";
import { test } from "node:test";
import { receivedParts } from "../../src/core/multipart-partial.js";

const part = (start: number, data: string) =>
  `--B\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes ${start}-${start + data.length - 1}/100\r\n\r\n${data}\r\n`;

test("receivedParts keeps complete parts and the received head of the part in flight", () => {
  const body = Buffer.from(part(0, "abcd") + part(10, "efghij") + "--B--\r\n");
  const all = receivedParts(body, "B").map((p) => [p.start, Buffer.from(p.data).toString()]);
  assert.deepEqual(all, [
    [0, "abcd"],
    [10, "efghij"],
  ]);
  const cutAt = part(0, "abcd").length + part(10, "efghij").indexOf("efg") + 3;
  const cut = receivedParts(body.subarray(0, cutAt), "B").map((p) => [
    p.start,
    Buffer.from(p.data).toString(),
  ]);
  assert.deepEqual(cut, [
    [0, "abcd"],
    [10, "efg"],
  ]);
  // Cut inside the second part's headers: only the first part.
  assert.equal(receivedParts(body.subarray(0, part(0, "abcd").length + 10), "B").length, 1);
  // Garbage after the first part: nothing after it is trusted.
  assert.equal(receivedParts(Buffer.from(part(0, "abcd") + "--B\r\nnonsense\r\n\r\nxx"), "B").length, 1);
  assert.deepEqual(receivedParts(Buffer.from("no boundary at all"), "B"), []);
});
