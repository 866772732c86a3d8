/**
 * `npm test` runs `dist/test/<folder>/<name>.test.js` (one folder deep, the shape of src/: see
 * docs/ARCHITECTURE.md), which npm's POSIX shell expands, so every Node version runs the same files. A file at
 * another depth would silently never run: this fails instead.
 */
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { test } from "node:test";

const testRoot = join(import.meta.dirname, "..", "..", "..", "test");

async function testFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await testFiles(path)));
    else if (entry.name.endsWith(".test.ts")) found.push(relative(testRoot, path).split(sep).join("/"));
  }
  return found;
}

test("every test file sits one folder below test/, where npm test looks", async () => {
  const files = await testFiles(testRoot);
  assert.ok(files.length > 50, `only ${files.length} test files found under ${testRoot}`);
  const misplaced = files.filter((f) => f.split("/").length !== 2);
  assert.deepEqual(misplaced, [], "move these to test/<folder>/ or npm test never runs them");
});
