/**
 * Metadata bundles (docs/FORMAT.md §5.4) end to end: publisher → loopback server → client. A bugfix of a
 * tree release reads its changed metadata objects from one bundle instead of one request each, ends in
 * exactly the tree the full form gives, falls back when the bundle is gone and refuses a tampered one.
 */
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import type { UpdateEvent } from "../../src/client/events.js";
import { readBundleRefs } from "../../src/core/metadata-bundle.js";
import { decodeUpTo } from "../../src/core/codec.js";
import { nodeBrotli } from "../../src/node/node-codec.js";
import { readTree, rejectsWith, sortedEntries, tempDir } from "../helpers/helpers.js";
import { repoFixture } from "../helpers/served-repo.js";

type Build = Map<string, string>;

/** A game of 8 directories of 24 files; the bugfix edits 3 files in 3 directories and adds one. */
function v1(): Build {
  const files: Build = new Map();
  for (let d = 0; d < 8; d++)
    for (let f = 0; f < 24; f++)
      files.set(`data/d${d}/file-${f}.json`, `{"level":${d},"item":${f}}\n`.repeat(8));
  files.set("bin/game", "the game v1\n");
  return files;
}

function v2(): Build {
  const files = v1();
  for (const d of [2, 5, 7]) files.set(`data/d${d}/file-7.json`, `{"fixed":${d}}\n`);
  files.set("data/d5/added.json", "{}\n");
  files.set("bin/game", "the game v2\n");
  return files;
}

const created = new Date("2026-11-01T00:00:00Z");

async function setup(t: Parameters<typeof tempDir>[0], metadataHistory: number) {
  const served = await repoFixture(t);
  const release = (version: string, files: Build) =>
    served.publish(files, { build: `build-${version}`, version, layout: "tree", created, metadataHistory });
  const install = join(served.dir, "install");
  await release("1.0.0", v1());
  await served.update(install);
  const published = await release("2.0.0", v2());
  return { served, install, published };
}

async function bundleRef(repo: string, manifestHash: string) {
  const stored = await readFile(join(repo, "manifests", manifestHash));
  const json: unknown = JSON.parse(
    new TextDecoder().decode(decodeUpTo(nodeBrotli, stored, 1 << 24, "header")),
  );
  return readBundleRefs(json, "header");
}

for (const verify of ["all", "changed"] as const) {
  test(`a bugfix reads its metadata from one bundle (verify ${verify}): fewer bytes and requests, same tree`, async (t) => {
    const withBundle = await setup(t, 3);
    const without = await setup(t, 0);
    assert.equal(withBundle.published.metadataBundles, 1);
    assert.equal(without.published.metadataBundles, 0);
    const refs = await bundleRef(withBundle.served.repo, withBundle.published.manifestHash);
    assert.equal(refs.length, 1);

    const events: UpdateEvent[] = [];
    const a = await withBundle.served.update(withBundle.install, { verify, onEvent: (e) => events.push(e) });
    const b = await without.served.update(without.install, { verify });
    assert.equal(a.version, "2.0.0");
    assert.deepEqual(
      sortedEntries(await readTree(withBundle.install)),
      sortedEntries(await readTree(without.install)),
    );
    assert.deepEqual(
      sortedEntries(await readTree(withBundle.install)),
      sortedEntries(await readTree(join(withBundle.served.dir, "build-2.0.0"))),
    );
    const used = events.filter((e) => e.type === "metadata-bundle");
    assert.equal(used.length, 1);
    assert.ok(used[0]!.objects >= 4, `rebuilt ${used[0]!.objects} objects`); // root, data, 3 directories, bin
    assert.equal(used[0]!.skipped, 0);
    // Pointer + header + bundle, against pointer + header + one request per changed object.
    assert.ok(a.requests < b.requests, `requests ${a.requests} vs ${b.requests}`);
    assert.ok(a.metadataBytes < b.metadataBytes, `metadata ${a.metadataBytes} vs ${b.metadataBytes} bytes`);
    t.diagnostic(
      `verify ${verify}: ${a.metadataBytes} B / ${a.requests} requests with the bundle, ${b.metadataBytes} B / ${b.requests} without`,
    );

    // The next update starts from kept objects that the bundle rebuilt: a repair needs no network.
    const kept = await readTree(join(withBundle.install, ".ferry", "objects"));
    const keptWithout = await readTree(join(without.install, ".ferry", "objects"));
    assert.deepEqual([...kept.keys()].sort(), [...keptWithout.keys()].sort());
  });
}

test("a missing bundle (404) falls back to the objects one by one, reported as an event", async (t) => {
  const s = await setup(t, 3);
  const [ref] = await bundleRef(s.served.repo, s.published.manifestHash);
  await rm(join(s.served.repo, "objects", ref!.hash));
  const events: UpdateEvent[] = [];
  const summary = await s.served.update(s.install, { onEvent: (e) => events.push(e) });
  assert.equal(summary.version, "2.0.0");
  const fallback = events.find((e) => e.type === "metadata-bundle-fallback");
  assert.ok(fallback && fallback.type === "metadata-bundle-fallback");
  assert.equal(fallback.code, "E_HTTP");
  assert.deepEqual(
    sortedEntries(await readTree(s.install)),
    sortedEntries(await readTree(join(s.served.dir, "build-2.0.0"))),
  );
});

test("a tampered bundle is refused with E_HASH_MISMATCH, never a fallback; the install stays as it was", async (t) => {
  const s = await setup(t, 3);
  const [ref] = await bundleRef(s.served.repo, s.published.manifestHash);
  const path = join(s.served.repo, "objects", ref!.hash);
  const bytes = await readFile(path);
  bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0x40;
  await writeFile(path, bytes);
  await rejectsWith(s.served.update(s.install), "E_HASH_MISMATCH");
  assert.deepEqual(
    sortedEntries(await readTree(s.install)),
    sortedEntries(await readTree(join(s.served.dir, "build-1.0.0"))),
  );
});

test("a client on another release ignores the bundle and reads the objects one by one", async (t) => {
  const s = await setup(t, 3);
  const fresh = join(s.served.dir, "fresh");
  const events: UpdateEvent[] = [];
  await s.served.update(fresh, { onEvent: (e) => events.push(e) });
  assert.equal(events.filter((e) => e.type.startsWith("metadata-bundle")).length, 0);
  assert.deepEqual(
    sortedEntries(await readTree(fresh)),
    sortedEntries(await readTree(join(s.served.dir, "build-2.0.0"))),
  );
});

test("entries whose base is not kept are skipped and their objects downloaded; the result is the same", async (t) => {
  const s = await setup(t, 3);
  await rm(join(s.install, ".ferry", "objects"), { recursive: true });
  const events: UpdateEvent[] = [];
  const summary = await s.served.update(s.install, { verify: "changed", onEvent: (e) => events.push(e) });
  assert.equal(summary.version, "2.0.0");
  const used = events.find((e) => e.type === "metadata-bundle");
  assert.ok(used?.type === "metadata-bundle" && used.skipped > 0, JSON.stringify(used));
  assert.deepEqual(
    sortedEntries(await readTree(s.install)),
    sortedEntries(await readTree(join(s.served.dir, "build-2.0.0"))),
  );
});
