/**
 * Conformance vectors (docs/FORMAT.md "Conformance vectors"): the committed golden repository is served
 * by the static server and installed with the Node client; every install tree must equal its expected
 * listing, and the negative vectors must fail with their documented codes. A second client can run the
 * same vectors from test/fixtures/golden-repo/ alone.
 */
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { cp, lstat, readdir, readFile, readlink, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";
import type { UpdateEvent } from "../../src/client/events.js";
import { update, type UpdateOptions } from "../../src/client/ops/update.js";
import { decodeUpTo } from "../../src/core/codec.js";
import { readBundleRefs } from "../../src/core/metadata-bundle.js";
import { nodeBrotli } from "../../src/node/node-codec.js";
import { FerryError, type FerryErrorCode } from "../../src/core/errors.js";
import { parsePublicKey } from "../../src/node/node-keys.js";
import type { Clock } from "../../src/ports/clock.js";
import { type RunningServer, serveRepository } from "../../src/server/static-server.js";
import { CLIENT_NOW, type Listing, makeGoldenRepo } from "../../scripts/make-golden-repo.js";
import { tempDir } from "../helpers/helpers.js";

/** The committed fixture at the repository root (this file runs from dist/test/conformance/). */
const FIXTURE = resolve(import.meta.dirname, "..", "..", "..", "test", "fixtures", "golden-repo");
const REPO = join(FIXTURE, "repo");

const clock: Clock = {
  now: () => CLIENT_NOW,
  sleep: (ms) => new Promise((done) => setTimeout(done, Math.min(ms, 10))),
};

let server: RunningServer;
let trustRoot1: UpdateOptions["trust"];
before(async () => {
  server = await serveRepository({ root: REPO });
  trustRoot1 = [parsePublicKey(await readFile(join(FIXTURE, "keys", "key-1.pub"), "utf8"), "key-1.pub")];
});
after(() => server.close());

async function expected(name: string): Promise<Listing> {
  return JSON.parse(await readFile(join(FIXTURE, "expected", `${name}.json`), "utf8")) as Listing;
}

/** The install tree as the vectors list it (without .ferry/), sorted by path. */
async function listingOf(dir: string, prefix = ""): Promise<Listing> {
  const out: Record<string, Listing[string]> = {};
  for (const name of (await readdir(join(dir, prefix))).sort()) {
    const rel = prefix ? `${prefix}/${name}` : name;
    if (rel === ".ferry") continue;
    const s = await lstat(join(dir, rel));
    if (s.isDirectory()) Object.assign(out, await listingOf(dir, rel));
    else if (s.isSymbolicLink()) {
      const target = Buffer.from(await readlink(join(dir, rel)));
      out[rel] = {
        sha256: createHash("sha256").update(target).digest("hex"),
        size: target.length,
        mode: "120000",
      };
    } else {
      const data = await readFile(join(dir, rel));
      out[rel] = {
        sha256: createHash("sha256").update(data).digest("hex"),
        size: data.length,
        mode: s.mode & 0o100 ? "100755" : "100644",
      };
    }
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function install(
  installDir: string,
  channel: string,
  options: { readonly packages?: readonly string[]; readonly url?: string } = {},
) {
  return update({
    repoUrl: options.url ?? server.url,
    installDir,
    channel,
    trust: trustRoot1,
    clock,
    ...(options.packages ? { packages: options.packages } : {}),
  });
}

async function rejectsWith(action: Promise<unknown>, code: FerryErrorCode): Promise<void> {
  await assert.rejects(action, (e: unknown) => {
    assert.ok(e instanceof FerryError, `expected FerryError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

/** A served copy of the golden repository with `edit` applied (for the negative vectors). */
async function servedCopy(t: Parameters<typeof tempDir>[0], edit: (repo: string) => Promise<void>) {
  const repo = join(await tempDir(t), "repo");
  await cp(REPO, repo, { recursive: true });
  await edit(repo);
  const copy = await serveRepository({ root: repo });
  t.after(() => copy.close());
  return copy.url;
}

for (const [release, channel] of [
  ["r1", "release-1"],
  ["r2", "release-2"],
  ["r3", "stable"],
] as const) {
  test(`golden: fresh install of ${release} (channel ${channel}, trusting root 1) gives expected/${release}`, async (t) => {
    const dir = await tempDir(t);
    const result = await install(dir, channel);
    assert.equal(result.version, `${release.slice(1)}.0.0`);
    assert.deepEqual(await listingOf(dir), await expected(release));
  });
}

test("golden: links (r4, tree layout with symbolic links): fresh install, and r3 -> r4", async (t) => {
  const fresh = await tempDir(t);
  assert.equal((await install(fresh, "links")).version, "4.0.0");
  assert.deepEqual(await listingOf(fresh), await expected("r4"));
  // Links resolve inside the install, to the release's own files.
  assert.equal(await readFile(join(fresh, "docs", "greeting.txt"), "utf8"), "hello=Hello\nbye=Goodbye\n");
  const dir = await tempDir(t);
  await install(dir, "stable");
  await install(dir, "links");
  assert.deepEqual(await listingOf(dir), await expected("r4"));
});

test("golden: solid blocks (r5 inline, r6 tree): fresh installs, r5 -> r6, and hd from the same blocks", async (t) => {
  const inline = await tempDir(t);
  assert.equal((await install(inline, "solid-inline")).version, "5.0.0");
  assert.deepEqual(await listingOf(inline), await expected("r5"));
  await install(inline, "solid");
  assert.deepEqual(await listingOf(inline), await expected("r6"));
  const fresh = await tempDir(t);
  assert.equal((await install(fresh, "solid", { packages: ["base", "hd"] })).version, "6.0.0");
  assert.deepEqual(await listingOf(fresh), await expected("r6-with-hd"));
});

test("golden: an older client (features before solid) refuses r6 with E_UNSUPPORTED_FORMAT", async () => {
  const { checkFormatHeader, JsonReader } = await import("../../src/core/json-reader.js");
  const { brotliDecompressSync } = await import("node:zlib");
  const pointer = JSON.parse(await readFile(join(REPO, "channels", "solid.json"), "utf8")) as {
    signed: { manifest: { hash: string } };
  };
  const header = JSON.parse(
    brotliDecompressSync(await readFile(join(REPO, "manifests", pointer.signed.manifest.hash))).toString(),
  ) as { requires: string[] };
  assert.ok(header.requires.includes("solid"), JSON.stringify(header.requires));
  assert.throws(
    () =>
      checkFormatHeader(new JsonReader("r6", header), "ferry-release", ["tree", "recipe-parts", "symlinks"]),
    (e: unknown) => e instanceof FerryError && e.code === "E_UNSUPPORTED_FORMAT",
  );
});

/** The bundle r7's tree header lists (channel "bundle"), read from the served repository. */
async function r7Bundle(repo: string) {
  const pointer = JSON.parse(await readFile(join(repo, "channels", "bundle.json"), "utf8")) as {
    signed: { manifest: { hash: string } };
  };
  const stored = await readFile(join(repo, "manifests", pointer.signed.manifest.hash));
  const header: unknown = JSON.parse(decodeUpTo(nodeBrotli, stored, 1 << 20, "r7 header").toString());
  const [bundle] = readBundleRefs(header, "r7 header");
  assert.ok(bundle, "r7's header lists a metadata bundle");
  return bundle;
}

test("golden: bundle (r3 on bundle-base -> r7) reads r7's changed metadata from its bundle for r3", async (t) => {
  const dir = await tempDir(t);
  assert.equal((await install(dir, "bundle-base")).version, "3.0.0");
  const events: UpdateEvent[] = [];
  const result = await update({
    repoUrl: server.url,
    installDir: dir,
    channel: "bundle",
    trust: trustRoot1,
    clock,
    onEvent: (e) => events.push(e),
  });
  assert.equal(result.version, "7.0.0");
  assert.deepEqual(await listingOf(dir), await expected("r7"));
  const used = events.find((e) => e.type === "metadata-bundle");
  assert.ok(
    used?.type === "metadata-bundle" && used.objects >= 3 && used.skipped === 0,
    JSON.stringify(used),
  );
  assert.equal(used.from, (await r7Bundle(REPO)).from);
  // A fresh install of r7 ignores the bundle and gives the same tree.
  const fresh = await tempDir(t);
  await install(fresh, "bundle");
  assert.deepEqual(await listingOf(fresh), await expected("r7"));
});

test("golden negative: a tampered bundle byte fails r3 -> r7 with E_HASH_MISMATCH; r3 stays", async (t) => {
  const dir = await tempDir(t);
  await install(dir, "bundle-base");
  const url = await servedCopy(t, async (repo) => {
    const path = join(repo, "objects", (await r7Bundle(repo)).hash);
    const bytes = await readFile(path);
    bytes[bytes.length >> 1]! ^= 0x01;
    await writeFile(path, bytes);
  });
  await rejectsWith(install(dir, "bundle", { url }), "E_HASH_MISMATCH");
  assert.deepEqual(await listingOf(dir), await expected("r3"));
});

test("golden: update chain r1 -> r2 -> r3, the last step with deltas", async (t) => {
  const dir = await tempDir(t);
  await install(dir, "release-1");
  assert.deepEqual(await listingOf(dir), await expected("r1"));
  assert.ok((await install(dir, "release-2")).deltasApplied > 0, "r2 lists deltas from r1");
  assert.deepEqual(await listingOf(dir), await expected("r2"));
  const last = await install(dir, "stable");
  assert.equal(last.previousVersion, "2.0.0");
  assert.ok(last.deltasApplied > 0, "r3 lists deltas from r2");
  assert.deepEqual(await listingOf(dir), await expected("r3"));
});

test("golden: update r1 -> r3 directly uses the deltas from r1", async (t) => {
  const dir = await tempDir(t);
  await install(dir, "release-1");
  const result = await install(dir, "stable");
  assert.equal(result.previousVersion, "1.0.0");
  assert.ok(result.deltasApplied > 0, "r3 lists deltas from r1");
  assert.equal(result.deltaFallbacks, 0);
  assert.deepEqual(await listingOf(dir), await expected("r3"));
});

test("golden: r3 with the optional package hd gives expected/r3-with-hd; without it, no hd/ files", async (t) => {
  const dir = await tempDir(t);
  const result = await install(dir, "stable", { packages: ["base", "hd"] });
  assert.deepEqual([...(result.packages ?? [])].sort(), ["base", "hd"]);
  assert.deepEqual(await listingOf(dir), await expected("r3-with-hd"));
  const plain = await tempDir(t);
  assert.deepEqual((await install(plain, "stable")).packages, ["base"]);
  assert.ok(Object.keys(await listingOf(plain)).every((p) => !p.startsWith("hd/")));
});

test("golden: a client trusting only root 1 walks to root 2 (key 1 was rotated out) and keeps root 2", async (t) => {
  const dir = await tempDir(t);
  await install(dir, "stable");
  const state = JSON.parse(await readFile(join(dir, ".ferry", "state.json"), "utf8")) as {
    root?: { signed?: { version?: number } };
  };
  assert.equal(state.root?.signed?.version, 2, "the install remembers the rotated root (FORMAT.md §7)");
});

test("golden negative: a tampered pack byte fails the install with E_HASH_MISMATCH and installs nothing", async (t) => {
  const url = await servedCopy(t, async (repo) => {
    for (const name of await readdir(join(repo, "packs"))) {
      if (!name.endsWith(".pack")) continue;
      const path = join(repo, "packs", name);
      const bytes = await readFile(path);
      for (let i = 0; i < bytes.length; i += 512) bytes[i]! ^= 0xff;
      await writeFile(path, bytes);
    }
  });
  const dir = await tempDir(t);
  await rejectsWith(install(dir, "stable", { url }), "E_HASH_MISMATCH");
  assert.deepEqual(await listingOf(dir), {});
});

test("golden negative: negative/tampered-pointer.json as the stable pointer fails with E_SIGNATURE", async (t) => {
  const url = await servedCopy(t, (repo) =>
    cp(join(FIXTURE, "negative", "tampered-pointer.json"), join(repo, "channels", "stable.json")),
  );
  await rejectsWith(install(await tempDir(t), "stable", { url }), "E_SIGNATURE");
});

test("golden negative: negative/replayed-stable.json (older, validly signed) over an r3 install fails with E_ROLLBACK", async (t) => {
  const dir = await tempDir(t);
  await install(dir, "stable");
  const url = await servedCopy(t, (repo) =>
    cp(join(FIXTURE, "negative", "replayed-stable.json"), join(repo, "channels", "stable.json")),
  );
  await rejectsWith(install(dir, "stable", { url }), "E_ROLLBACK");
  assert.deepEqual(await listingOf(dir), await expected("r3"), "the install keeps r3");
});

test("golden: the committed vectors are what scripts/make-golden-repo.ts generates (not edited by hand)", async (t) => {
  const out = await tempDir(t);
  await makeGoldenRepo(out);
  const files = async (root: string, prefix = ""): Promise<string[]> => {
    const list: string[] = [];
    for (const name of (await readdir(join(root, prefix))).sort()) {
      const rel = prefix ? `${prefix}/${name}` : name;
      if ((await lstat(join(root, rel))).isDirectory()) list.push(...(await files(root, rel)));
      else list.push(rel);
    }
    return list;
  };
  for (const sub of ["repo", "expected", "negative"]) {
    const committed = await files(join(FIXTURE, sub));
    assert.deepEqual(await files(join(out, sub)), committed, `${sub}/ lists the same files`);
    for (const rel of committed) {
      const same = (await readFile(join(out, sub, rel))).equals(await readFile(join(FIXTURE, sub, rel)));
      assert.ok(
        same,
        `${sub}/${rel} differs from a fresh generation: run node dist/scripts/make-golden-repo.js`,
      );
    }
  }
});
