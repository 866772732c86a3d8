/**
 * Unsafe paths in signed releases (docs/SECURITY.md "Paths"). A release signed by the trusted key but
 * naming an unsafe path must be refused with E_UNSAFE_PATH before anything is written: the sandbox around
 * the install (the install, its .ferry/ bookkeeping and its sibling directories) is byte-for-byte the
 * same afterwards. The publisher refuses the same names in a build directory wherever Linux can create
 * them.
 */
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { access, lstat, mkdir, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { update } from "../../src/client/ops/update.js";
import { publish } from "../../src/publisher/publish.js";
import { isFerryError } from "../../src/core/errors.js";
import { forgeRelease, type ForgedFile } from "../../src/testing/release-forge.js";
import { keys, tempDir } from "../helpers/helpers.js";
import { repoFixture } from "../helpers/served-repo.js";
import { sandboxListing } from "../helpers/sandbox-hash.js";

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** [name, paths that the release adds next to the safe files]. Sets are unsafe only together. */
export const UNSAFE_CASES: readonly (readonly [string, readonly string[]])[] = [
  ["absolute", ["/etc/passwd"]],
  ["absolute into the sandbox", ["/tmp/ferry-unsafe-paths-evil"]],
  ["UNC with slashes", ["//server/share/x"]],
  ["UNC with backslashes", ["\\\\server\\share\\x"]],
  ["Windows root", ["\\x"]],
  ["drive-relative", ["C:x"]],
  ["drive-absolute", ["C:/x"]],
  ["drive with backslash", ["c:\\x"]],
  ["bare drive", ["Z:"]],
  ["..", [".."]],
  ["../sibling file", ["../outside/secret.txt"]],
  ["../sibling install", ["../install-evil/x"]],
  ["nested escape", ["a/../../outside/x"]],
  ["escape after a real dir", ["data/../../x"]],
  ["trailing ..", ["data/.."]],
  [".", ["."]],
  ["./ prefix", ["./a"]],
  ["inner .", ["a/./b"]],
  ["empty", [""]],
  ["doubled slash", ["a//b"]],
  ["trailing slash", ["a/"]],
  ["only a slash", ["/"]],
  ["backslash traversal", ["..\\outside\\x"]],
  ["backslash", ["a\\b"]],
  ["NUL inside", ["a\u0000b"]],
  ["NUL alone", ["\u0000"]],
  ["SOH", ["a\u0001"]],
  ["newline", ["a\nb"]],
  ["carriage return", ["a\rb"]],
  ["tab", ["a\tb"]],
  ["ANSI escape", ["a\u001b[31m"]],
  ["DEL", ["a\u007f"]],
  ["C1 NEL", ["a\u0085"]],
  ["C1 CSI", ["a\u009b2J"]],
  ["CON", ["CON"]],
  ["con.txt", ["con.txt"]],
  ["Aux.tar.gz", ["Aux.tar.gz"]],
  ["NUL device", ["NUL"]],
  ["prn", ["prn"]],
  ["COM1", ["COM1"]],
  ["com9.log", ["com9.log"]],
  ["LPT1", ["LPT1"]],
  ["COM superscript 1", ["COM\u00b9"]],
  ["LPT superscript 3", ["LPT\u00b3.txt"]],
  ["CONIN$", ["CONIN$"]],
  ["conout$", ["conout$.dat"]],
  ["com0", ["com0"]],
  ["device with space before the extension", ["CON .txt"]],
  ["device as a directory", ["data/nul/x"]],
  ["trailing dot", ["a."]],
  ["trailing space", ["a "]],
  ["directory with a trailing dot", ["dir./x"]],
  ["directory with a trailing space", ["dir /x"]],
  ["alternate data stream", ["file.txt:stream"]],
  ["$DATA stream", ["file.txt::$DATA"]],
  ["colon in a directory", ["dir:x/y"]],
  ["<", ["a<b"]],
  [">", ["a>b"]],
  ['"', ['a"b']],
  ["|", ["a|b"]],
  ["?", ["a?b"]],
  ["*", ["a*b"]],
  ["segment of 256 bytes", ["x".repeat(256)]],
  ["segment of 256 UTF-8 bytes", ["\u00e9".repeat(128)]],
  ["path over 1024 bytes", ["a/".repeat(600) + "b"]],
  ["lone surrogate", ["a\ud800"]],
  ["not NFC", ["cafe\u0301.txt"]],
  ["Angstrom sign", ["\u212b"]],
  [".ferry/state.json", [".ferry/state.json"]],
  [".FERRY", [".FERRY/x"]],
  [".ferry/journal.json", [".ferry/journal.json"]],
  ["case collision", ["A.txt", "a.txt"]],
  ["case collision with a safe file", ["KEEP.TXT"]],
  ["full case folding", ["Stra\u00dfe", "strasse"]],
  ["final sigma", ["\u03c3", "\u03c2"]],
  ["ligature", ["\ufb01le", "file"]],
  ["zero-width joiner", ["a\u200db", "ab"]],
  ["file and directory", ["a", "a/b"]],
  ["safe file used as a directory", ["keep.txt/x"]],
  ["exact duplicate", ["dup", "dup"]],
];

const SAFE_FILES: ForgedFile[] = [
  { path: "data/a.txt", data: text("a") },
  { path: "keep.txt", data: text("keep") },
];

test(`unsafe paths (${UNSAFE_CASES.length} cases) in a signed manifest: E_UNSAFE_PATH and zero bytes written`, async (t) => {
  // A hostile repository: releases are forged into the served directory, not published.
  const { dir, repo, key, pub, url } = await repoFixture(t);
  const sandbox = join(dir, "sandbox");
  const install = join(sandbox, "install");
  const freshSandbox = join(dir, "fresh-sandbox");
  const fresh = join(freshSandbox, "install");
  for (const box of [sandbox, freshSandbox]) {
    for (const sibling of ["outside", "install-evil", "x"]) {
      await mkdir(join(box, sibling), { recursive: true });
      await writeFile(join(box, sibling, "secret.txt"), `${sibling} secret`);
    }
  }
  const freshBefore = await sandboxListing(freshSandbox);
  await forgeRelease({ repo, key, serial: 1, version: "1", files: SAFE_FILES });
  const run = (installDir: string) => update({ repoUrl: url, installDir, trust: [pub], maxAttempts: 1 });
  await run(install);
  const before = await sandboxListing(sandbox);
  let serial = 1;
  for (const [name, paths] of UNSAFE_CASES) {
    serial++;
    const files = [...SAFE_FILES, ...paths.map((path) => ({ path, data: text(`evil ${name}`) }))];
    await forgeRelease({ repo, key, serial, version: `${serial}`, files });
    // An existing install: nothing changes, not even .ferry/.
    await assert.rejects(run(install), (e: unknown) => {
      assert.ok(isFerryError(e), `${name}: expected a FerryError, got ${String(e)}`);
      assert.equal(e.code, "E_UNSAFE_PATH", `${name}: ${e.message}`);
      assert.ok(typeof e.data.rule === "string" && e.data.rule.length > 0, `${name}: names its rule`);
      return true;
    });
    assert.deepEqual(await sandboxListing(sandbox), before, `${name}: the sandbox is unchanged`);
    // A fresh install leaves no trace: the install directory it created and its .ferry/ (which held
    // the lock while the update ran) are removed again.
    await assert.rejects(run(fresh), (e: unknown) => isFerryError(e, "E_UNSAFE_PATH"));
    const added = (await sandboxListing(freshSandbox)).filter((line) => !freshBefore.includes(line));
    assert.deepEqual(added, [], `${name}: ${added.join(", ")}`);
    assert.equal((await sandboxListing(freshSandbox)).length, freshBefore.length);
    await rm(fresh, { recursive: true, force: true });
  }
  await assert.rejects(access("/tmp/ferry-unsafe-paths-evil"), "no file appeared at an absolute path");
  // The listing does see writes: a safe release changes it.
  await forgeRelease({
    repo,
    key,
    serial: serial + 1,
    version: "safe",
    files: [...SAFE_FILES, { path: "new.txt", data: text("n") }],
  });
  await run(install);
  assert.notDeepEqual(await sandboxListing(sandbox), before);
});

/** Paths the publisher normalizes instead of refusing (by design: it publishes the NFC form). */
const NORMALIZED_BY_PUBLISHER = new Set(["not NFC", "Angstrom sign"]);

test("the publisher refuses every unsafe name Linux lets a build directory hold", async (t) => {
  const dir = await tempDir(t);
  const { key } = keys();
  let refused = 0;
  const notCreatable: string[] = [];
  for (const [index, [name, paths]] of UNSAFE_CASES.entries()) {
    const build = join(dir, `build-${index}`);
    await mkdir(build, { recursive: true });
    await writeFile(join(build, "keep.txt"), "keep");
    // Node writes a lone surrogate as U+FFFD, so that name reaches the disk as a safe one.
    let created = !paths.some((p) => /[\ud800-\udfff]/u.test(p));
    for (const path of paths) {
      const segments = path.split("/");
      if (
        !created ||
        path.startsWith("/") ||
        path.includes("\u0000") ||
        segments.some((s) => s === "" || s === "." || s === "..")
      ) {
        created = false;
        break;
      }
      try {
        await mkdir(join(build, ...segments.slice(0, -1)), { recursive: true });
        await writeFile(join(build, ...segments), "x", { flag: "wx" });
      } catch {
        created = false; // the OS refuses it (too long, a file used as a directory, a duplicate)
      }
    }
    if (!created) {
      notCreatable.push(name);
      continue;
    }
    const repo = join(dir, `repo-${index}`);
    const publishing = publish({ buildDir: build, repo, version: "1", key });
    if (NORMALIZED_BY_PUBLISHER.has(name)) {
      await publishing;
      continue;
    }
    await assert.rejects(publishing, (e: unknown) => {
      assert.ok(isFerryError(e, "E_UNSAFE_PATH"), `${name}: ${String(e)}`);
      return true;
    });
    assert.deepEqual(await readdir(join(repo, "channels")).catch(() => []), [], `${name}: nothing published`);
    refused++;
  }
  // A name that is not UTF-8 (Linux allows any bytes but '/' and NUL) is refused, not mangled to U+FFFD.
  const build = join(dir, "build-not-utf8");
  await mkdir(build, { recursive: true });
  await writeFile(
    Buffer.concat([Buffer.from(`${build}/bad-`), Buffer.from([0xff, 0xfe]), Buffer.from(".txt")]),
    "x",
  );
  await assert.rejects(
    publish({ buildDir: build, repo: join(dir, "repo-not-utf8"), version: "1", key }),
    (e: unknown) => isFerryError(e, "E_UNSAFE_PATH") && e.data.rule === "invalid-utf8",
  );
  refused++;
  t.diagnostic(
    `publisher refused ${refused} builds; not creatable on this OS: ${notCreatable.length} (${notCreatable.join("; ")})`,
  );
  assert.ok(refused >= 40, `refused ${refused}`);
});

/**
 * A directory of the install replaced by a symlink (by another program or a local attacker) must not
 * redirect Ferry's writes or deletes outside the install.
 */
test("symlinked directories at depths 1-3, a symlinked file and a dangling symlink never redirect writes", async (t) => {
  const { dir, repo, key, pub, url } = await repoFixture(t);
  const v1: ForgedFile[] = [
    { path: "a/b/c/f.txt", data: text("f1") },
    { path: "a/b/c/gone.txt", data: text("gone") },
    { path: "keep.txt", data: text("keep1") },
  ];
  const v2: ForgedFile[] = [
    { path: "a/b/c/f.txt", data: text("f2") },
    { path: "a/b/c/new.txt", data: text("new") },
    { path: "keep.txt", data: text("keep2") },
  ];
  await forgeRelease({ repo, key, serial: 1, version: "1", files: v1 });
  await forgeRelease({ repo, key, serial: 2, version: "2", files: v2 });
  const scenarios: [string, (install: string, outside: string) => Promise<void>][] = [];
  for (const depth of ["a", "a/b", "a/b/c"]) {
    scenarios.push([
      `directory ${depth} -> outside`,
      async (install, outside) => {
        // The outside directory holds the same names, so a followed link would find files to overwrite.
        await mkdir(join(outside, "c"), { recursive: true });
        await writeFile(join(outside, "c", "f.txt"), "outside f");
        await writeFile(join(outside, "c", "gone.txt"), "outside gone");
        await writeFile(join(outside, "f.txt"), "outside f");
        await rm(join(install, depth), { recursive: true });
        await symlink(outside, join(install, depth));
      },
    ]);
  }
  scenarios.push([
    "dangling directory link",
    async (install, outside) => {
      await rm(join(install, "a"), { recursive: true });
      await symlink(join(outside, "missing"), join(install, "a"));
    },
  ]);
  scenarios.push([
    "file link to an outside file",
    async (install, outside) => {
      await writeFile(join(outside, "secret.txt"), "outside secret");
      await rm(join(install, "keep.txt"));
      await symlink(join(outside, "secret.txt"), join(install, "keep.txt"));
    },
  ]);
  for (const [name, tamper] of scenarios) {
    const box = join(dir, name.replace(/[^a-z0-9]+/g, "-"));
    const install = join(box, "install");
    const outside = join(box, "outside");
    await mkdir(outside, { recursive: true });
    const run = () => update({ repoUrl: url, installDir: install, trust: [pub], maxAttempts: 1 });
    await forgeRelease({ repo, key, serial: 1, version: "1", files: v1 });
    await run();
    await tamper(install, outside);
    const outsideBefore = await sandboxListing(outside);
    await forgeRelease({ repo, key, serial: 2, version: "2", files: v2 });
    if (name.startsWith("file link")) {
      // The commit renames over the link; the link's target is never opened for writing.
      await run();
      assert.equal(await readFile(join(install, "keep.txt"), "utf8"), "keep2");
      assert.ok((await lstat(join(install, "keep.txt"))).isFile(), "the link was replaced by a file");
    } else {
      await assert.rejects(run(), (e: unknown) => {
        assert.ok(isFerryError(e, "E_UNSAFE_PATH"), `${name}: ${String(e)}`);
        assert.match(e.message, /symlink/);
        return true;
      });
      assert.equal(await readFile(join(install, "keep.txt"), "utf8"), "keep1", `${name}: still exactly v1`);
      assert.ok(
        (
          await lstat(join(install, name === "dangling directory link" ? "a" : name.split(" ")[1]!))
        ).isSymbolicLink(),
      );
    }
    assert.deepEqual(await sandboxListing(outside), outsideBefore, `${name}: nothing outside changed`);
  }
});
