import "../../src/register-node.js";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type PublicKey, type SigningKey } from "../../src/core/keys.js";
import { generateKeyPair, parsePrivateKey, parsePublicKey } from "../../src/node/node-keys.js";
import { FerryError, type FerryErrorCode } from "../../src/core/errors.js";
import { publish } from "../../src/publisher/publish.js";
import { sampleGame, writeGame } from "../../src/testing/game-fixture.js";
// A cycle (served-repo uses keys and tempDir from here): only functions cross it, called after load.
import { repoFixture } from "./served-repo.js";

/** Runs `fn`, which must throw a FerryError with `code`; returns it. */
export function expectCode(fn: () => unknown, code: FerryErrorCode): FerryError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof FerryError, `expected FerryError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

/** expectCode for an operation that may be asynchronous: the same checks on its rejection. */
export async function expectCodeAsync(fn: () => Promise<unknown>, code: FerryErrorCode): Promise<FerryError> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof FerryError, `expected FerryError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

export async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "ferry-test-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export function keys(): { key: SigningKey; pub: PublicKey; publicText: string } {
  const { privatePem, publicText } = generateKeyPair();
  return {
    key: parsePrivateKey(privatePem, "test key"),
    pub: parsePublicKey(publicText, "test pub"),
    publicText,
  };
}

/** path → "sha256 x|-" for every file under dir, excluding .ferry/. */
export async function readTree(dir: string, prefix = ""): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let names: string[];
  try {
    names = await readdir(join(dir, prefix));
  } catch {
    return out;
  }
  for (const name of names) {
    const rel = prefix ? `${prefix}/${name}` : name;
    if (rel === ".ferry") continue;
    const s = await stat(join(dir, rel));
    if (s.isDirectory()) for (const [k, v] of await readTree(dir, rel)) out.set(k, v);
    else
      out.set(
        rel,
        `${createHash("sha256")
          .update(await readFile(join(dir, rel)))
          .digest("hex")} ${s.mode & 0o100 ? "x" : "-"}`,
      );
  }
  return out;
}

export function expectedTree(version: 1 | 2 | 3): Map<string, string> {
  const out = new Map<string, string>();
  for (const [path, file] of sampleGame(version)) {
    out.set(path, `${createHash("sha256").update(file.data).digest("hex")} ${file.executable ? "x" : "-"}`);
  }
  return out;
}

/** Publishes sample game versions 1..n into `repo` (builds under dir/build-vN). */
export async function publishVersions(
  dir: string,
  repo: string,
  key: SigningKey,
  versions: readonly (1 | 2 | 3)[],
  options: { readonly deltaHistory?: number } = {},
): Promise<void> {
  for (const v of versions) {
    const build = join(dir, `build-v${v}`);
    await writeGame(build, sampleGame(v));
    await publish({
      buildDir: build,
      repo,
      version: `${v}.0.0`,
      key,
      created: new Date(Date.UTC(2026, 0, v)),
      expiresInDays: 36500,
      rootExpiresInDays: 36500,
      ...options,
    });
  }
}

export function sortedEntries(map: Map<string, string>): [string, string][] {
  return [...map.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
}

/**
 * A served repository at v1, an install of v1 at `template` (copy it per trial), then v2 published:
 * the starting point of the crash and kill batteries.
 */
export async function v1InstallWithV2Published(
  t: Parameters<typeof tempDir>[0],
  options: { readonly deltaHistory?: number } = {},
) {
  const { dir, repo, server, key, pub, publicText, update: install } = await repoFixture(t);
  await publishVersions(dir, repo, key, [1]);
  const template = join(dir, "template");
  await install(template);
  await publishVersions(dir, repo, key, [2], options);
  return { dir, server, template, key, pub, publicText };
}

/** The tree of `dir` (without .ferry/) is exactly sample game `version`, plus `extra` path → "sha256 x|-". */
export async function assertTreeIs(
  dir: string,
  version: 1 | 2 | 3,
  extra: Record<string, string> = {},
): Promise<void> {
  const expected = expectedTree(version);
  for (const [k, v] of Object.entries(extra)) expected.set(k, v);
  assert.deepEqual(sortedEntries(await readTree(dir)), sortedEntries(expected));
}

/** `promise` rejects with a FerryError of `code`. */
export async function rejectsWith(promise: Promise<unknown>, code: FerryErrorCode): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof FerryError, `expected a FerryError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}
