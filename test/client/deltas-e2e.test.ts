/**
 * Binary deltas end to end (docs/FORMAT.md §9): real publishes of the sample game, a loopback server,
 * real updates. Deltas must lower the bytes downloaded, leave the tree exact, reach back through the
 * channel's history, fall back to chunks when their source changed, and fail safely when damaged.
 */
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { brotliDecompressSync } from "node:zlib";
import { FerryError } from "../../src/core/errors.js";
import { type Manifest, parseManifest } from "../../src/core/manifest.js";
import type { UpdateEvent } from "../../src/client/events.js";
import { update } from "../../src/client/ops/update.js";
import { NodeFileSystem } from "../../src/node/node-fs.js";
import type { FileSystem } from "../../src/ports/fs.js";
import { sampleGame } from "../../src/testing/game-fixture.js";
import { expectedTree, readTree, sortedEntries, tempDir } from "../helpers/helpers.js";
import { repoFixture } from "../helpers/served-repo.js";

type Version = 1 | 2 | 3;

/** A served repository where `installed` was installed at `installDir`, then `later` were published. */
async function scenario(
  t: Parameters<typeof tempDir>[0],
  installed: Version,
  later: readonly Version[],
  deltaHistory?: number,
) {
  const { dir, repo, server, key, pub, publicText, publish } = await repoFixture(t);
  const publishVersion = (v: Version) =>
    publish(sampleGame(v), {
      build: `build-v${v}`,
      version: `${v}.0.0`,
      created: new Date(Date.UTC(2026, 0, v)),
      expiresInDays: 36500,
      rootExpiresInDays: 36500,
      ...(deltaHistory === undefined ? {} : { deltaHistory }),
    });
  for (let v = 1; v <= installed; v++) await publishVersion(v as Version);
  const installDir = join(dir, "install");
  await update({ repoUrl: server.url, installDir, trust: [pub] });
  const published = [];
  for (const v of later) published.push(await publishVersion(v));
  return { dir, repo, server, installDir, published, key, pub, publicText };
}

async function currentManifest(repo: string): Promise<Manifest> {
  const pointer = JSON.parse(await readFile(join(repo, "channels/stable.json"), "utf8")) as {
    signed: { manifest: { hash: string } };
  };
  const bytes = await readFile(join(repo, "manifests", pointer.signed.manifest.hash));
  return parseManifest(JSON.parse(brotliDecompressSync(bytes).toString("utf8")));
}

describe("deltas end to end", () => {
  it("v1 -> v2 downloads less with deltas than without, and the tree is exact", async (t) => {
    const withDeltas = await scenario(t, 1, [2]);
    const without = await scenario(t, 1, [2], 0);
    assert.ok(withDeltas.published[0]!.deltas > 0, "the publisher kept some deltas");
    assert.equal(without.published[0]!.deltas, 0);
    const manifest = await currentManifest(withDeltas.repo);
    assert.ok(manifest.files.some((f) => f.path === "data/levels.pak" && f.deltas?.length === 1));

    const events: UpdateEvent[] = [];
    const a = await update({
      repoUrl: withDeltas.server.url,
      installDir: withDeltas.installDir,
      trust: [withDeltas.pub],
      onEvent: (e) => events.push(e),
    });
    const b = await update({
      repoUrl: without.server.url,
      installDir: without.installDir,
      trust: [without.pub],
    });
    assert.ok(a.deltasApplied > 0, "some files were rebuilt from deltas");
    assert.equal(a.deltaFallbacks, 0);
    assert.equal(b.deltasApplied, 0);
    assert.ok(
      a.bytesDownloaded < b.bytesDownloaded,
      `with deltas ${a.bytesDownloaded} B, without ${b.bytesDownloaded} B`,
    );
    const plan = events.find((e) => e.type === "plan");
    assert.equal(plan?.type === "plan" ? plan.deltasToApply : -1, a.deltasApplied);
    const expected = sortedEntries(expectedTree(2));
    assert.deepEqual(sortedEntries(await readTree(withDeltas.installDir)), expected);
    assert.deepEqual(sortedEntries(await readTree(without.installDir)), expected);
  });

  it("an update that skips a release (v1 -> v3) uses deltas from the channel's history", async (t) => {
    const deep = await scenario(t, 1, [2, 3]);
    const shallow = await scenario(t, 1, [2, 3], 1);
    const a = await update({ repoUrl: deep.server.url, installDir: deep.installDir, trust: [deep.pub] });
    const b = await update({
      repoUrl: shallow.server.url,
      installDir: shallow.installDir,
      trust: [shallow.pub],
    });
    // With one release of history, v3's deltas start from v2 contents the v1 install does not have.
    assert.equal(b.deltasApplied, 0);
    assert.ok(a.deltasApplied > 0, "deltas from v1 contents were used");
    assert.ok(a.bytesDownloaded < b.bytesDownloaded, `${a.bytesDownloaded} B vs ${b.bytesDownloaded} B`);
    const expected = sortedEntries(expectedTree(3));
    assert.deepEqual(sortedEntries(await readTree(deep.installDir)), expected);
    assert.deepEqual(sortedEntries(await readTree(shallow.installDir)), expected);
  });

  it("a source changed before the update is re-hashed and not used as a delta source", async (t) => {
    const s = await scenario(t, 1, [2]);
    await writeFile(join(s.installDir, "data", "levels.pak"), "modified by the user\n");
    const result = await update({ repoUrl: s.server.url, installDir: s.installDir, trust: [s.pub] });
    assert.equal(result.deltaFallbacks, 0);
    assert.deepEqual(sortedEntries(await readTree(s.installDir)), sortedEntries(expectedTree(2)));
  });

  it("a source changed between planning and assembly falls back to the file's chunks", async (t) => {
    const s = await scenario(t, 1, [2]);
    const base = new NodeFileSystem();
    let tampering: Promise<void> | undefined;
    const tamper = async (): Promise<void> => {
      for (const name of ["data/levels.pak", "messages/en.properties"]) {
        const file = join(s.installDir, name);
        const bytes = await readFile(file);
        bytes[100] = bytes[100]! ^ 0xff;
        await writeFile(file, bytes);
      }
    };
    // The first staged file writer marks the end of planning and downloading: damage the delta sources
    // then (same size, so only the hash check can notice), before any file is assembled.
    const fs: FileSystem = Object.assign(Object.create(base) as FileSystem, {
      createWriter: async (path: string, mode?: number) => {
        await (tampering ??= tamper());
        return base.createWriter(path, mode);
      },
    });
    const result = await update({ repoUrl: s.server.url, installDir: s.installDir, trust: [s.pub], fs });
    assert.ok(tampering);
    assert.ok(result.deltaFallbacks >= 1, `fallbacks: ${result.deltaFallbacks}`);
    assert.deepEqual(sortedEntries(await readTree(s.installDir)), sortedEntries(expectedTree(2)));
  });

  it("delta objects downloaded by a failed update are kept and not downloaded again", async (t) => {
    const s = await scenario(t, 1, [2]);
    const base = new NodeFileSystem();
    // Fails when the first file is assembled, after every object was downloaded and staged.
    const failing: FileSystem = Object.assign(Object.create(base) as FileSystem, {
      createWriter: async () => {
        throw new FerryError("E_IO", "injected failure before assembly");
      },
    });
    const events: UpdateEvent[] = [];
    await assert.rejects(
      update({
        repoUrl: s.server.url,
        installDir: s.installDir,
        trust: [s.pub],
        fs: failing,
        onEvent: (e) => events.push(e),
      }),
      (e: unknown) => e instanceof FerryError && e.message === "injected failure before assembly",
    );
    assert.deepEqual(sortedEntries(await readTree(s.installDir)), sortedEntries(expectedTree(1)));
    const plan = events.find((e) => e.type === "plan");
    assert.ok(plan?.type === "plan" && plan.deltasToApply > 0 && plan.chunksToFetch > 0);
    const resumed = await update({ repoUrl: s.server.url, installDir: s.installDir, trust: [s.pub] });
    assert.equal(resumed.chunksFetched, 0, "nothing is downloaded again");
    assert.equal(resumed.deltasApplied, plan.deltasToApply);
    assert.deepEqual(sortedEntries(await readTree(s.installDir)), sortedEntries(expectedTree(2)));
  });

  it("a corrupt delta object in the repository is a typed error and the install is unchanged", async (t) => {
    const s = await scenario(t, 1, [2]);
    const manifest = await currentManifest(s.repo);
    const delta = manifest.files.find((f) => f.path === "data/levels.pak")?.deltas?.[0];
    assert.ok(delta, "levels.pak has a delta");
    const pack = join(s.repo, "packs", `${manifest.packs[delta.pack]!.id}.pack`);
    const bytes = await readFile(pack);
    bytes[delta.offset + Math.floor(delta.length / 2)]! ^= 0x01;
    await writeFile(pack, bytes);
    const before = sortedEntries(await readTree(s.installDir));
    await assert.rejects(
      update({ repoUrl: s.server.url, installDir: s.installDir, trust: [s.pub], maxAttempts: 2 }),
      (e: unknown) => e instanceof FerryError && e.code === "E_HASH_MISMATCH",
    );
    assert.deepEqual(sortedEntries(await readTree(s.installDir)), before);
    assert.deepEqual(before, sortedEntries(expectedTree(1)));
  });
});
