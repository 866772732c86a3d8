/**
 * Rollback, freeze, mix-and-match and key rotation against a real repository served on loopback: each
 * refusal is a typed error and leaves the install byte-for-byte unchanged (tree and .ferry/state.json).
 */
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { copyFile, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { update } from "../../src/client/ops/update.js";
import { FerryError, type FerryErrorCode } from "../../src/core/errors.js";
import { publicKeyOf, type SigningKey } from "../../src/core/keys.js";
import { parsePointer, type PointerBody, signPointer, verifyPointer } from "../../src/core/pointer.js";
import { signRoot } from "../../src/core/root.js";
import { resign } from "../../src/publisher/resign.js";
import { loadRootChain, rotateRoot } from "../../src/publisher/roots.js";
import { DirectoryStore } from "../../src/publisher/repo-store.js";
import { sampleGame } from "../../src/testing/game-fixture.js";
import {
  expectedTree,
  keys,
  publishVersions,
  readTree,
  sortedEntries,
  type tempDir,
} from "../helpers/helpers.js";
import { repoFixture } from "../helpers/served-repo.js";
import { nodeCrypto } from "../../src/node/node-crypto.js";

const DAY = 86_400_000;

function fixedClock(at: Date) {
  return { now: () => at, sleep: async () => undefined };
}

async function snapshot(install: string): Promise<string> {
  const state = await readFile(join(install, ".ferry", "state.json"), "utf8").catch(() => "(none)");
  return JSON.stringify([sortedEntries(await readTree(install)), state]);
}

async function expectRefused(
  install: string,
  run: () => Promise<unknown>,
  code: FerryErrorCode,
  message?: RegExp,
): Promise<FerryError> {
  const before = await snapshot(install);
  const error = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(error instanceof FerryError, `expected ${code}, got ${String(error)}`);
  assert.equal(error.code, code, error.message);
  if (message) assert.match(error.message, message);
  assert.equal(await snapshot(install), before, "the install changed although the update was refused");
  return error;
}

/** A served repository with v1 and v2 published by one key (bootstrap root), and an install of v2. */
async function setup(t: Parameters<typeof tempDir>[0]) {
  const served = await repoFixture(t);
  const { dir, repo, server, key, pub, publicText } = served;
  await publishVersions(dir, repo, key, [1]);
  const pointerV1 = await readFile(join(repo, "channels", "stable.json"));
  await publishVersions(dir, repo, key, [2]);
  const install = join(dir, "install");
  await served.update(install);
  const opts = served.options(install);
  return { dir, repo, server, install, pointerV1, opts, key, pub, publicText, publish: served.publish };
}

async function pointerBody(repo: string, channel = "stable"): Promise<PointerBody> {
  const bytes = await readFile(join(repo, "channels", `${channel}.json`));
  const chain = await loadRootChain(new DirectoryStore(repo));
  return (await verifyPointer(parsePointer(bytes, channel), chain.at(-1)!.body, nodeCrypto)).body;
}

async function writePointer(repo: string, body: PointerBody, keys: readonly SigningKey[]): Promise<void> {
  await writeFile(join(repo, "channels", "stable.json"), signPointer(body, keys));
}

test("replay of an older signed pointer (lower serial): E_ROLLBACK, install unchanged", async (t) => {
  const s = await setup(t);
  await writeFile(join(s.repo, "channels", "stable.json"), s.pointerV1);
  await expectRefused(s.install, () => update(s.opts), "E_ROLLBACK", /serial 1.*serial 2/);
});

test("same serial naming another release: E_ROLLBACK", async (t) => {
  const s = await setup(t);
  const v2 = await pointerBody(s.repo);
  const v1 = parsePointerBody(s.pointerV1);
  await writePointer(s.repo, { ...v2, manifest: v1.manifest, version: v1.version }, [s.key]);
  await expectRefused(s.install, () => update(s.opts), "E_ROLLBACK");
});

function parsePointerBody(bytes: Uint8Array): PointerBody {
  return (JSON.parse(new TextDecoder().decode(bytes)) as { signed: PointerBody }).signed;
}

test("a lower release version with a higher serial: E_ROLLBACK; allowDowngrade (caller only) installs it", async (t) => {
  const s = await setup(t);
  const v1 = parsePointerBody(s.pointerV1);
  const v2 = await pointerBody(s.repo);
  await writePointer(s.repo, { ...v2, serial: v2.serial + 5, version: v1.version, manifest: v1.manifest }, [
    s.key,
  ]);
  await expectRefused(
    s.install,
    () => update(s.opts),
    "E_ROLLBACK",
    /older than the installed 2\.0\.0.*--allow-downgrade/,
  );
  const result = await update({ ...s.opts, allowDowngrade: true });
  assert.equal(result.version, "1.0.0");
  assert.deepEqual(sortedEntries(await readTree(s.install)), sortedEntries(expectedTree(1)));
});

test("a pointer copied from another channel: E_SIGNATURE (pointer swapped)", async (t) => {
  const s = await setup(t);
  await s.publish(sampleGame(3), {
    build: "build-beta",
    version: "3.0.0",
    channel: "beta",
    expiresInDays: 365,
  });
  await copyFile(join(s.repo, "channels", "beta.json"), join(s.repo, "channels", "stable.json"));
  await expectRefused(s.install, () => update(s.opts), "E_SIGNATURE", /signed for channel 'beta'/);
});

test("mix-and-match: the pinned manifest replaced by another release's manifest: E_HASH_MISMATCH", async (t) => {
  const s = await setup(t);
  const v2 = await pointerBody(s.repo);
  await s.publish(sampleGame(3), { build: "build-v3", version: "3.0.0", expiresInDays: 365 });
  const v3 = await pointerBody(s.repo);
  // Keep v3's pointer (serial 3) but serve v2's manifest bytes under v3's name.
  await copyFile(join(s.repo, "manifests", v2.manifest.hash), join(s.repo, "manifests", v3.manifest.hash));
  await expectRefused(s.install, () => update(s.opts), "E_HASH_MISMATCH");
});

test("mix-and-match: a manifest longer than the pinned length is cut off while streaming: E_TOO_LARGE", async (t) => {
  const s = await setup(t);
  await s.publish(sampleGame(3), { build: "build-v3", version: "3.0.0", expiresInDays: 365 });
  const v3 = await pointerBody(s.repo);
  const path = join(s.repo, "manifests", v3.manifest.hash);
  await writeFile(path, Buffer.concat([await readFile(path), Buffer.alloc(1 << 20)]));
  await expectRefused(s.install, () => update(s.opts), "E_TOO_LARGE");
});

test("freeze: a pointer past its expiry (a mirror stuck on old data): E_EXPIRED naming local time", async (t) => {
  const s = await setup(t);
  const v2 = await pointerBody(s.repo);
  const later = new Date(new Date(v2.expires).getTime() + DAY);
  await expectRefused(s.install, () => update({ ...s.opts, clock: fixedClock(later) }), "E_EXPIRED", /clock/);
  // allowDowngrade does not bypass expiry.
  await expectRefused(
    s.install,
    () => update({ ...s.opts, clock: fixedClock(later), allowDowngrade: true }),
    "E_EXPIRED",
  );
});

test("freeze: an expired root stops updates until the publisher publishes a new root version", async (t) => {
  const served = await repoFixture(t);
  const { dir, repo, key } = served;
  const created = new Date();
  await served.publish(sampleGame(1), {
    build: "b1",
    version: "1.0.0",
    created,
    expiresInDays: 365,
    rootExpiresInDays: 10,
  });
  const install = join(dir, "install");
  const opts = served.options(install);
  await update(opts);
  const in20Days = fixedClock(new Date(created.getTime() + 20 * DAY));
  await expectRefused(
    install,
    () => update({ ...opts, clock: in20Days }),
    "E_EXPIRED",
    /Root metadata version 1/,
  );
  // The publisher re-signs the root with a later expiry (same keys) and re-signs the channel under it.
  await rotateRoot({ repo, signers: [key], expiresInDays: 365, now: created });
  await resign({ repo, keys: [key], now: created, expiresInDays: 365 });
  const result = await update({ ...opts, clock: in20Days });
  assert.equal(result.upToDate, true);
  const state = JSON.parse(await readFile(join(install, ".ferry", "state.json"), "utf8")) as {
    root: { signed: { version: number } };
  };
  assert.equal(state.root.signed.version, 2, "the install remembers the newer root");
});

test("resign keeps a channel fresh without republishing: serial + 1, new expiry, same release", async (t) => {
  const s = await setup(t);
  const before = await pointerBody(s.repo);
  const now = new Date();
  // A channel re-signed daily with a 1-day expiry: two days without re-signing freezes clients out.
  const daily = await resign({ repo: s.repo, keys: [s.key], now, expiresInDays: 1, allowShortExpiry: true });
  assert.equal(daily.serial, before.serial + 1);
  assert.equal(daily.manifest.hash, before.manifest.hash);
  assert.equal(daily.version, before.version);
  const later = new Date(now.getTime() + 2 * DAY);
  await expectRefused(s.install, () => update({ ...s.opts, clock: fixedClock(later) }), "E_EXPIRED");
  const body = await resign({
    repo: s.repo,
    keys: [s.key],
    now: later,
    expiresInDays: 1,
    allowShortExpiry: true,
  });
  assert.equal(body.serial, before.serial + 2);
  const result = await update({ ...s.opts, clock: fixedClock(later) });
  assert.equal(result.upToDate, true);
  assert.equal(result.serial, before.serial + 2);
  // Resigning with a key the root does not authorise is refused before anything is written.
  const stranger = keys();
  const pointerBefore = await readFile(join(s.repo, "channels", "stable.json"));
  await assert.rejects(
    resign({ repo: s.repo, keys: [stranger.key] }),
    (e: unknown) => (e as FerryError).code === "E_KEY",
  );
  assert.deepEqual(await readFile(join(s.repo, "channels", "stable.json")), pointerBefore);
});

test("key rotation: clients walk root versions, the old release key is then powerless", async (t) => {
  const s = await setup(t);
  const rootKey = keys();
  const releaseKey = keys();
  // Move to an offline root key and a new release key: signed by the old root key and the new one.
  await rotateRoot({
    repo: s.repo,
    signers: [s.key, rootKey.key],
    rootKeys: [rootKey.pub],
    releaseKeys: [releaseKey.pub],
  });
  // The old key can no longer publish.
  const v3Release = { build: "build-v3", version: "3.0.0", expiresInDays: 365 };
  await assert.rejects(
    s.publish(sampleGame(3), v3Release),
    (e: unknown) => (e as FerryError).code === "E_KEY",
  );
  await s.publish(sampleGame(3), { ...v3Release, key: releaseKey.key });
  const updated = await update(s.opts); // trust: the original key; the install walks root 1 -> 2
  assert.equal(updated.version, "3.0.0");
  assert.deepEqual(sortedEntries(await readTree(s.install)), sortedEntries(expectedTree(3)));
  // A fresh install trusting only the original key also walks the chain.
  const fresh = join(s.dir, "fresh");
  assert.equal((await update({ ...s.opts, installDir: fresh })).version, "3.0.0");

  // An attacker holding the rotated-out key: a pointer under root 2 signed by it is refused...
  const v3 = await pointerBody(s.repo);
  await writePointer(s.repo, { ...v3, serial: v3.serial + 1 }, [s.key]);
  await expectRefused(s.install, () => update(s.opts), "E_SIGNATURE", /root version 2/);
  // ...and so is a forged root 3 that hands the release role back to it.
  await writeFile(
    join(s.repo, "root", "3.json"),
    signRoot(
      {
        version: 3,
        expires: "2099-01-01T00:00:00Z",
        rootKeys: [publicKeyOf(s.key)],
        rootThreshold: 1,
        releaseKeys: [publicKeyOf(s.key)],
        releaseThreshold: 1,
      },
      [s.key],
    ),
  );
  await writePointer(s.repo, { ...v3, serial: v3.serial + 2, root: 3 }, [s.key]);
  await expectRefused(s.install, () => update(s.opts), "E_SIGNATURE", /against root version 2/);
  await expectRefused(fresh, () => update({ ...s.opts, installDir: fresh }), "E_SIGNATURE");
});

test("a pointer naming a root version far ahead or missing: typed errors, install unchanged", async (t) => {
  const s = await setup(t);
  const v2 = await pointerBody(s.repo);
  await writePointer(s.repo, { ...v2, serial: v2.serial + 1, root: 1000 }, [s.key]);
  await expectRefused(s.install, () => update(s.opts), "E_FORMAT", /walks at most 64/);
  await writePointer(s.repo, { ...v2, serial: v2.serial + 1, root: 2 }, [s.key]);
  await expectRefused(s.install, () => update(s.opts), "E_HTTP", /root/);
});

test("--trust with a key that never trusted this install: E_KEY; a shipped root file works for fresh installs", async (t) => {
  const s = await setup(t);
  const stranger = keys();
  await expectRefused(s.install, () => update({ ...s.opts, trust: [stranger.pub] }), "E_KEY");
  const fresh = join(s.dir, "fresh-root-file");
  const rootFile = await readFile(join(s.repo, "root", "1.json"));
  const result = await update({
    ...s.opts,
    installDir: fresh,
    trust: { kind: "root", bytes: rootFile, source: "root/1.json shipped with the game" },
  });
  assert.equal(result.version, "2.0.0");
  // A tampered shipped root file is refused before any download.
  const tampered = Buffer.from(rootFile.toString().replace(/"expires": "\d{4}/, '"expires": "2199'));
  assert.notDeepEqual(tampered, rootFile);
  await assert.rejects(
    update({
      ...s.opts,
      installDir: join(s.dir, "fresh2"),
      trust: { kind: "root", bytes: tampered, source: "x" },
    }),
    (e: unknown) => e instanceof FerryError && e.code === "E_SIGNATURE",
  );
});

test("fast-forward: a stolen release key's huge serial/version blocks updates until the key is rotated", async (t) => {
  const s = await setup(t);
  // The attacker signs the (here harmless) v1 content as version 99.0.0 with serial 2^40; the install takes it.
  const v1 = parsePointerBody(s.pointerV1);
  const v2 = await pointerBody(s.repo);
  await writePointer(s.repo, { ...v2, serial: 2 ** 40, version: "99.0.0", manifest: v1.manifest }, [s.key]);
  await expectRefused(
    s.install,
    () => update(s.opts),
    "E_SIGNATURE",
    /says version 99\.0\.0 but its manifest says 1\.0\.0/,
  );
  // A consistent forgery: the attacker publishes their own build as 99.0.0 with the stolen key.
  // An attacker with the key is not bound by the publisher's guard rails.
  await s.publish(sampleGame(1), {
    build: "build-evil",
    version: "99.0.0",
    expiresInDays: 365,
    allowDowngrade: true,
  });
  const forged = await pointerBody(s.repo);
  await writePointer(s.repo, { ...forged, serial: 2 ** 40 }, [s.key]);
  assert.equal((await update(s.opts)).version, "99.0.0");
  // The publisher restores the real release, still signed by the stolen key: refused as a rollback.
  await writePointer(s.repo, { ...v2, serial: 10 }, [s.key]);
  await expectRefused(s.install, () => update(s.opts), "E_ROLLBACK");
  // After rotating the release key (root 2), the new key's pointer is accepted: the floor was the old key's.
  const releaseKey = keys();
  await rotateRoot({ repo: s.repo, signers: [s.key], releaseKeys: [releaseKey.pub] });
  await writePointer(s.repo, { ...v2, serial: 11, root: 2 }, [releaseKey.key]);
  const recovered = await update(s.opts);
  assert.equal(recovered.version, "2.0.0");
  assert.deepEqual(sortedEntries(await readTree(s.install)), sortedEntries(expectedTree(2)));
});
