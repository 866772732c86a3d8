/**
 * Generates the conformance vectors of docs/FORMAT.md "Conformance vectors" into
 * test/fixtures/golden-repo/ (or the directory given): a small repository with three releases, deltas,
 * an optional package, a tree-layout manifest and a rotated root, the install trees a client must
 * produce, and the negative vectors. Deterministic: fixed inputs, committed keys (keys/), a fixed clock;
 * Ed25519 signatures are deterministic, so a second run writes the same bytes (the conformance test
 * checks that the committed files were not edited by hand).
 *
 *   node dist/scripts/make-golden-repo.js [outDir]
 */
import "../src/register-node.js";
import { createHash } from "node:crypto";
import { chmod, cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { SigningKey } from "../src/core/keys.js";
import { parsePrivateKey, parsePublicKey } from "../src/node/node-keys.js";
import { publish } from "../src/publisher/publish.js";
import { resign } from "../src/publisher/resign.js";
import { rotateRoot } from "../src/publisher/roots.js";
import { pseudoRandom } from "../src/testing/game-fixture.js";

/** The committed fixture, found from the compiled script (dist/scripts/) at the repository root. */
export const FIXTURE_DIR = resolve(import.meta.dirname, "..", "..", "test", "fixtures", "golden-repo");

/** Every date is fixed; expiries land in 2099 so the vectors never expire for a client at CLIENT_NOW. */
const DAY = 86_400_000;
export const CREATED = {
  1: Date.UTC(2026, 0, 1),
  2: Date.UTC(2026, 1, 1),
  3: Date.UTC(2026, 2, 1),
  4: Date.UTC(2026, 3, 1),
  5: Date.UTC(2026, 4, 1),
  6: Date.UTC(2026, 5, 1),
  7: Date.UTC(2026, 6, 1),
} as const;
const ROTATED = Date.UTC(2026, 1, 15);
const EXPIRES = Date.UTC(2099, 0, 1);
const daysUntilExpiry = (from: number) => Math.round((EXPIRES - from) / DAY);
/** The clock a client runs the vectors with. */
export const CLIENT_NOW = new Date(Date.UTC(2027, 0, 1));

interface InputFile {
  /** A file's bytes; for a link, its target's UTF-8 bytes (what the listing hashes, as git does). */
  readonly data: Uint8Array;
  readonly executable?: boolean;
  /** A symbolic link with this target (feature "symlinks"). */
  readonly link?: string;
}
type Build = ReadonlyMap<string, InputFile>;

const PACKAGES = {
  format: 1,
  type: "ferry-packages",
  packages: { hd: { optional: true } },
  rules: [{ match: "hd/**", package: "hd" }],
};

const utf8 = (s: string) => new TextEncoder().encode(s);

/** `data` with the bytes of `patch` written at `at` (a small edit: a delta beats refetching the chunk). */
function edited(data: Uint8Array, at: number, patch: string): Uint8Array {
  const out = new Uint8Array(data);
  out.set(utf8(patch), at);
  return out;
}

/** The three builds: each release changes a little of the previous one. */
export function builds(): [Build, Build, Build] {
  const level = pseudoRandom("golden:level", 24 * 1024);
  const texture = pseudoRandom("golden:hd", 6 * 1024);
  const r1: Build = new Map<string, InputFile>([
    ["readme.txt", { data: utf8("Golden game, release 1.\n") }],
    ["bin/start.sh", { data: utf8("#!/bin/sh\necho golden 1\n"), executable: true }],
    ["data/level.bin", { data: level }],
    ["data/strings/en.txt", { data: utf8("hello=Hello\nbye=Goodbye\n") }],
    ["data/old.txt", { data: utf8("removed in release 2\n") }],
    ["hd/texture.bin", { data: texture }],
  ]);
  const r2: Build = new Map<string, InputFile>([
    ["readme.txt", { data: utf8("Golden game, release 2.\n") }],
    ["bin/start.sh", { data: utf8("#!/bin/sh\necho golden 2\n"), executable: true }],
    ["data/level.bin", { data: edited(level, 10_000, "release two") }],
    ["data/strings/en.txt", { data: utf8("hello=Hello\nbye=Goodbye\n") }],
    ["data/strings/fr.txt", { data: utf8("hello=Bonjour\nbye=Au revoir\n") }],
    ["hd/texture.bin", { data: texture }],
  ]);
  const r3: Build = new Map<string, InputFile>([
    ["readme.txt", { data: utf8("Golden game, release 3.\n") }],
    // No longer executable: a client must clear the bit.
    ["bin/start.sh", { data: utf8("#!/bin/sh\necho golden 2\n") }],
    ["data/level.bin", { data: edited(edited(level, 10_000, "release two"), 20_000, "three") }],
    ["data/strings/en.txt", { data: utf8("hello=Hello\nbye=Goodbye\n") }],
    ["data/strings/fr.txt", { data: utf8("hello=Bonjour\nbye=Au revoir\n") }],
    ["hd/texture.bin", { data: edited(texture, 100, "hd3") }],
    ["hd/extra.bin", { data: utf8("hd extra\n") }],
  ]);
  return [r1, r2, r3];
}

const link = (target: string): InputFile => ({ data: utf8(target), link: target });

/** r4 (channel "links"): r3 plus symbolic links (to a file, through a directory link, and up with ..). */
export function linksBuild(r3: Build): Build {
  return new Map<string, InputFile>([
    ...r3,
    ["bin/start", link("start.sh")],
    ["data/current", link("strings")],
    ["data/strings/default.txt", link("en.txt")],
    ["docs/readme", link("../readme.txt")],
    ["docs/greeting.txt", link("../data/current/default.txt")],
  ]);
}

/**
 * r5 and r6 (channels "solid-inline" and "solid", feature "solid"): r3 plus small similar text files, so
 * several chunks share one solid block (docs/FORMAT.md §4.1); r6 edits one of them and adds one.
 */
export function solidBuilds(r3: Build): [Build, Build] {
  const strings = (lang: string, hello: string, bye: string) =>
    [`data/strings/${lang}.txt`, { data: utf8(`hello=${hello}\nbye=${bye}\nstart=${hello}!\n`) }] as const;
  const r5: Build = new Map<string, InputFile>([
    ...r3,
    strings("de", "Hallo", "Auf Wiedersehen"),
    strings("es", "Hola", "Adiós"),
    strings("it", "Ciao", "Arrivederci"),
    // In the optional package, in the same block as the base files.
    ["hd/strings.txt", { data: utf8("hello=Hello in HD\nbye=Goodbye in HD\n") }],
  ]);
  const r6: Build = new Map<string, InputFile>([
    ...r5,
    strings("es", "Hola", "Hasta luego"),
    strings("pt", "Olá", "Adeus"),
  ]);
  return [r5, r6];
}

/** r7 (channel "bundle"): r3 with one string file edited and one added, for a metadata bundle from r3. */
export function bundleBuild(r3: Build): Build {
  return new Map<string, InputFile>([
    ...r3,
    ["data/strings/en.txt", { data: utf8("hello=Hello\nbye=Goodbye\nplay=Play\n") }],
    ["data/strings/de.txt", { data: utf8("hello=Hallo\nbye=Auf Wiedersehen\n") }],
  ]);
}

async function writeBuild(dir: string, build: Build): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  for (const [path, file] of build) {
    const native = join(dir, ...path.split("/"));
    await mkdir(dirname(native), { recursive: true });
    if (file.link !== undefined) {
      await symlink(file.link, native);
      continue;
    }
    await writeFile(native, file.data);
    await chmod(native, file.executable ? 0o755 : 0o644);
  }
  await writeFile(join(dir, "ferry-packages.json"), `${JSON.stringify(PACKAGES)}\n`);
}

/**
 * An install tree as the vectors list it: path → sha256, size, mode (git-style 100644 / 100755, and
 * 120000 for a symbolic link, whose sha256 and size are those of its target's UTF-8 bytes).
 */
export type Listing = Record<
  string,
  { readonly sha256: string; readonly size: number; readonly mode: string }
>;

function listing(build: Build, withHd: boolean): Listing {
  const out: Record<string, Listing[string]> = {};
  for (const path of [...build.keys()].sort()) {
    if (!withHd && path.startsWith("hd/")) continue;
    const file = build.get(path)!;
    out[path] = {
      sha256: createHash("sha256").update(file.data).digest("hex"),
      size: file.data.length,
      mode: file.link !== undefined ? "120000" : file.executable ? "100755" : "100644",
    };
  }
  return out;
}

export async function loadKey(name: string): Promise<SigningKey> {
  return parsePrivateKey(await readFile(join(FIXTURE_DIR, "keys", `${name}.key`), "utf8"), name);
}

/** Writes repo/, expected/ and negative/ under `out` (keys/ is read from the committed fixture). */
export async function makeGoldenRepo(out: string): Promise<void> {
  const key1 = await loadKey("key-1");
  const key2 = await loadKey("key-2");
  const pub2 = parsePublicKey(await readFile(join(FIXTURE_DIR, "keys", "key-2.pub"), "utf8"), "key-2");
  const repo = join(out, "repo");
  for (const sub of ["repo", "expected", "negative"])
    await rm(join(out, sub), { recursive: true, force: true });
  const work = await mkdtemp(join(tmpdir(), "ferry-golden-"));
  try {
    const [r1, r2, r3] = builds();
    const release = async (
      n: 1 | 2 | 3 | 4 | 5 | 6 | 7,
      build: Build,
      channel: string,
      key: SigningKey,
      layout: "inline" | "tree" = n >= 3 ? "tree" : "inline",
    ) => {
      const dir = join(work, `build-${n}`);
      await writeBuild(dir, build);
      const created = CREATED[n];
      await publish({
        buildDir: dir,
        repo,
        version: `${n}.0.0`,
        channel,
        key,
        created: new Date(created),
        expiresInDays: daysUntilExpiry(created),
        rootExpiresInDays: daysUntilExpiry(created),
        layout,
        ...(n === 5 || n === 6 ? { solid: true } : {}),
      });
    };
    // "stable" carries r1 -> r2 -> r3 (with deltas from the releases before); "release-1" and
    // "release-2" pin the older releases so a client can install each one fresh. Publishing the same
    // build with the same history gives the same manifest, so the pinned channels add no objects.
    await release(1, r1, "stable", key1);
    await release(1, r1, "release-1", key1);
    // release-2 gets r1 then r2 as stable did, so its r2 is stable's r2 byte for byte (same manifest,
    // same deltas): a client holding it finds r3's delta index for its manifest.
    await release(1, r1, "release-2", key1);
    await release(2, r2, "stable", key1);
    await release(2, r2, "release-2", key1);
    // Root 2 replaces key 1 by key 2 (signed by both); every channel is then re-signed under it
    // ('ferry root rotate' then 'ferry resign', which can set the pointers' expiry).
    await rotateRoot({
      repo,
      signers: [key1, key2],
      rootKeys: [pub2],
      releaseKeys: [pub2],
      now: new Date(ROTATED),
      expiresInDays: daysUntilExpiry(ROTATED),
    });
    for (const channel of ["release-1", "release-2", "stable"]) {
      await resign({
        repo,
        channel,
        keys: [key2],
        now: new Date(ROTATED),
        expiresInDays: daysUntilExpiry(ROTATED),
      });
    }
    await mkdir(join(out, "negative"), { recursive: true });
    // A valid, signed stable pointer older than r3's: replayed over r3 it must be refused.
    await cp(join(repo, "channels", "stable.json"), join(out, "negative", "replayed-stable.json"));
    await release(3, r3, "stable", key2);

    // A pointer whose signature no longer matches its body: one character of the body changed.
    const pointer = await readFile(join(repo, "channels", "stable.json"), "utf8");
    const tampered = pointer.replace('"version": "3.0.0"', '"version": "3.0.1"');
    if (tampered === pointer) throw new Error("the r3 pointer does not name version 3.0.0");
    await writeFile(join(out, "negative", "tampered-pointer.json"), tampered);
    // Last, on its own channel, so every object above keeps its bytes.
    const r4 = linksBuild(r3);
    await release(4, r4, "links", key2);
    // Then solid blocks: r5 inline on "solid-inline", and r5 (the same manifest) then r6 (tree) on "solid".
    const [r5, r6] = solidBuilds(r3);
    await release(5, r5, "solid-inline", key2, "inline");
    await release(5, r5, "solid", key2, "inline");
    await release(6, r6, "solid", key2, "tree");
    // Metadata bundles (FORMAT.md §5.4), after everything above for the same reason: "bundle-base" holds
    // r3's build as its first release, "bundle" the same release (same manifest), then r7, whose tree
    // header lists a bundle for that manifest.
    await release(3, r3, "bundle-base", key2);
    await release(3, r3, "bundle", key2);
    const r7 = bundleBuild(r3);
    await release(7, r7, "bundle", key2);

    await mkdir(join(out, "expected"), { recursive: true });
    const expected: [string, Build, boolean][] = [
      ["r1", r1, false],
      ["r2", r2, false],
      ["r3", r3, false],
      ["r3-with-hd", r3, true],
      ["r4", r4, false],
      ["r5", r5, false],
      ["r6", r6, false],
      ["r6-with-hd", r6, true],
      ["r7", r7, false],
    ];
    for (const [name, build, withHd] of expected) {
      await writeFile(
        join(out, "expected", `${name}.json`),
        `${JSON.stringify(listing(build, withHd), null, 2)}\n`,
      );
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await makeGoldenRepo(resolve(process.argv[2] ?? FIXTURE_DIR));
}
