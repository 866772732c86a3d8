/** The stat file of large installs (src/client/install/stat-cache.ts): round trip, lookup, carry, damage. */
import { nodeCrypto } from "../../src/node/node-crypto.js";
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { test } from "node:test";
import { InstallLayout } from "../../src/client/install/layout.js";
import {
  lookupStats,
  saveStats,
  STAT_FILE_MIN_ENTRIES,
  withStatFiles,
} from "../../src/client/install/stat-cache.js";
import {
  type InstallState,
  parseState,
  stateToJson,
  type StatCacheEntry,
} from "../../src/client/install/state.js";
import { NodeFileSystem } from "../../src/node/node-fs.js";
import { expectCode, tempDir } from "../helpers/helpers.js";

const fs = new NodeFileSystem();

function entries(n: number, salt: number): Record<string, StatCacheEntry> {
  const files: Record<string, StatCacheEntry> = {};
  // Awkward paths on purpose: quotes, tabs are not allowed in paths but unicode and spaces are.
  for (let i = 0; i < n; i++)
    files[`dir ${i % 7}/é "q" ${i}.bin`] = {
      size: i + salt,
      mtimeMs: -5 + i * 1000,
      ino: String(10 ** 12 + i),
    };
  return files;
}

const BASE = {
  channel: "stable",
  repo: "http://127.0.0.1/",
  version: "1.0.0",
  serial: 1,
  manifest: { hash: "a".repeat(64), size: 10, codec: "br" as const, rawSize: 20 },
  pointer: {},
  root: {},
  trustedKeys: [],
};

test("a large stat cache round-trips through its file; a small one stays inline", async (t) => {
  const layout = new InstallLayout(await tempDir(t));
  assert.equal(
    await saveStats({ fs, layout, crypto: nodeCrypto }, entries(STAT_FILE_MIN_ENTRIES - 1, 0)),
    undefined,
  );
  const files = entries(STAT_FILE_MIN_ENTRIES + 5, 0);
  const ref = await saveStats({ fs, layout, crypto: nodeCrypto }, files);
  assert.ok(ref);
  assert.equal(ref.entries, STAT_FILE_MIN_ENTRIES + 5);
  const state: InstallState = parseState(stateToJson({ ...BASE, files: {}, statCache: ref }), "state");
  const loaded = await withStatFiles({ fs, layout, crypto: nodeCrypto }, state);
  assert.deepEqual(loaded.files, files);
  assert.equal(loaded.statCache, undefined);
  const some = new Set(['dir 3/é "q" 10.bin', 'dir 0/é "q" 7.bin', "not/there"]);
  assert.deepEqual(await lookupStats({ fs, layout, crypto: nodeCrypto }, state, some), {
    'dir 3/é "q" 10.bin': files['dir 3/é "q" 10.bin'],
    'dir 0/é "q" 7.bin': files['dir 0/é "q" 7.bin'],
  });
});

test("an incremental save keeps every carried entry but the changed paths, and adds the new ones", async (t) => {
  const layout = new InstallLayout(await tempDir(t));
  const old = entries(STAT_FILE_MIN_ENTRIES, 0);
  const ref = (await saveStats({ fs, layout, crypto: nodeCrypto }, old))!;
  const state: InstallState = { ...BASE, files: {}, statCache: ref };
  const changed = ['dir 1/é "q" 1.bin', 'dir 2/é "q" 2.bin'];
  const fresh = { [changed[0]!]: { size: 1, mtimeMs: 2, ino: "3" } };
  const next = await saveStats({ fs, layout, crypto: nodeCrypto }, fresh, {
    state,
    except: new Set(changed),
  });
  assert.ok(next);
  const expected: Record<string, StatCacheEntry> = { ...old, ...fresh };
  delete expected[changed[1]!];
  assert.equal(next.entries, STAT_FILE_MIN_ENTRIES - 1);
  assert.deepEqual(
    (await withStatFiles({ fs, layout, crypto: nodeCrypto }, { ...state, statCache: next })).files,
    expected,
  );
});

test("a damaged or missing stat file counts as an empty cache (files are hashed again)", async (t) => {
  const layout = new InstallLayout(await tempDir(t));
  const ref = (await saveStats({ fs, layout, crypto: nodeCrypto }, entries(STAT_FILE_MIN_ENTRIES, 0)))!;
  const state: InstallState = { ...BASE, files: {}, statCache: ref };
  const path = layout.statFile(ref.hash);
  const bytes = await readFile(path);
  bytes[100] = bytes[100]! ^ 1;
  await writeFile(path, bytes);
  assert.deepEqual((await withStatFiles({ fs, layout, crypto: nodeCrypto }, state)).files, {});
  assert.deepEqual(
    await lookupStats({ fs, layout, crypto: nodeCrypto }, state, new Set(['dir 0/é "q" 0.bin'])),
    {},
  );
  const carried = await saveStats(
    { fs, layout, crypto: nodeCrypto },
    { x: { size: 1, mtimeMs: 1, ino: "1" } },
    { state, except: new Set() },
  );
  assert.equal(carried?.entries, 1, "a damaged carried file contributes nothing");
  const missing = { ...state, statCache: { hash: "b".repeat(64), entries: 3 } };
  assert.deepEqual((await withStatFiles({ fs, layout, crypto: nodeCrypto }, missing)).files, {});
});

test("state.json with a stat file must have empty files", () => {
  const json = stateToJson({
    ...BASE,
    files: { a: { size: 1, mtimeMs: 1, ino: "1" } },
    statCache: { hash: "c".repeat(64), entries: 1 },
  });
  expectCode(() => parseState(json, "state.json"), "E_FORMAT");
});
