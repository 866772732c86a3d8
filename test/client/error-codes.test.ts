/**
 * Every FerryError code is documented in the README's error table, and file-system errors name their
 * real cause: each system code gets its own advice, with the path and the syscall in data.
 */
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { FerryError, IO_CAUSES, ioError } from "../../src/core/errors.js";
import { NodeFileSystem } from "../../src/node/node-fs.js";
import { tempDir } from "../helpers/helpers.js";

const ROOT = join(import.meta.dirname, "..", "..", "..");

test("every code of the FerryErrorCode union is in the README's error table", async () => {
  const source = await readFile(join(ROOT, "src", "core", "errors.ts"), "utf8");
  const union = source.slice(
    source.indexOf("export type FerryErrorCode"),
    source.indexOf("export type ErrorData"),
  );
  const codes = [...union.matchAll(/\|\s*"(E_[A-Z_]+)"/g)].map((m) => m[1]!);
  assert.ok(codes.length >= 30, `read ${codes.length} codes from the union`);
  const readme = await readFile(join(ROOT, "README.md"), "utf8");
  const table = readme
    .split("\n")
    .filter((line) => line.startsWith("| `E_"))
    .map((line) => line.split("|")[1] ?? "");
  const documented = new Set(table.flatMap((cell) => [...cell.matchAll(/`(E_[A-Z_]+)`/g)].map((m) => m[1]!)));
  assert.deepEqual(
    codes.filter((c) => !documented.has(c)),
    [],
    "codes missing from the README table",
  );
  assert.deepEqual(
    [...documented].filter((c) => !codes.includes(c)),
    [],
    "README codes that do not exist",
  );
});

test("file-system errors: one advice per cause, the path and syscall in data, ENOSPC is E_NO_SPACE", async (t) => {
  const dir = await tempDir(t);
  const fs = new NodeFileSystem();
  const file = join(dir, "a-file");
  await writeFile(file, "x");
  await mkdir(join(dir, "sub"));

  const failure = async (run: () => Promise<unknown>): Promise<FerryError> => {
    const error = await run().then(
      () => assert.fail("should fail"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof FerryError, String(error));
    return error;
  };
  // Real errors from the Node adapter.
  const notDir = await failure(() => fs.readFile(join(file, "inside")));
  assert.equal(notDir.code, "E_IO");
  assert.equal(notDir.data.systemCode, "ENOTDIR");
  assert.equal(notDir.data.syscall, "open");
  assert.equal(notDir.data.path, join(file, "inside"));
  assert.match(notDir.message, /a part of the path is a file, not a directory \(ENOTDIR, open\)/);
  assert.doesNotMatch(notDir.message, /disk is not full/);

  const isDir = await failure(() => fs.readFile(join(dir, "sub")));
  assert.equal(isDir.data.systemCode, "EISDIR");
  assert.match(isDir.message, /is a directory, not a file/);

  const exists = await failure(() => fs.link(file, join(dir, "sub")));
  assert.equal(exists.data.systemCode, "EEXIST");
  assert.match(exists.message, /already exists there/);

  const missing = await failure(() => fs.readFile(join(dir, "nope")));
  assert.equal(missing.data.systemCode, "ENOENT");
  assert.match(missing.message, /no such file or directory/);

  // Causes a test cannot provoke as root on a writable volume: the same wrapping of a Node-style error.
  const advices = new Map<string, string>();
  for (const code of ["EACCES", "EPERM", "EROFS", "ENOSPC", "EDQUOT", "ENOTDIR", "EEXIST", "EIO", "EBUSY"]) {
    const cause = Object.assign(new Error(`${code}: x`), { code, syscall: "rename" });
    const error = ioError("rename", "/games/x", cause);
    assert.equal(error.code, code === "ENOSPC" || code === "EDQUOT" ? "E_NO_SPACE" : "E_IO", code);
    assert.deepEqual(error.data, {
      operation: "rename",
      path: "/games/x",
      systemCode: code,
      syscall: "rename",
    });
    assert.ok(
      error.message.startsWith(`rename failed for /games/x: ${IO_CAUSES[code]!.cause} (${code}, rename). `),
    );
    assert.doesNotMatch(error.message, /disk is not full/, code);
    advices.set(code, error.message.slice(error.message.indexOf(")") + 2));
  }
  assert.equal(new Set(advices.values()).size, advices.size, "each cause has its own advice");
  assert.match(advices.get("EROFS")!, /read-only/);
  assert.match(advices.get("EACCES")!, /permissions/);
  assert.match(advices.get("ENOSPC")!, /free space/);
  // An unknown code keeps the system's own text and the generic advice.
  const odd = ioError("read", "/x", Object.assign(new Error("EWEIRD: odd"), { code: "EWEIRD" }));
  assert.match(odd.message, /EWEIRD: odd/);
});
