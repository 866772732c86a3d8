/**
 * The FileSystem port's contract (src/ports/fs.ts) as one suite, run against any implementation: what
 * the client relies on, not what one adapter happens to do. `make` gives a fresh file system and an
 * existing empty directory on it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { FerryError } from "../../src/core/errors.js";
import type { FileSystem } from "../../src/ports/fs.js";

export interface FsUnderTest {
  readonly fs: FileSystem;
  readonly root: string;
}

type Make = (t: { after(fn: () => Promise<void>): void }) => Promise<FsUnderTest>;

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function rejectsIo(action: Promise<unknown>, systemCode?: string): Promise<void> {
  await assert.rejects(action, (e: unknown) => {
    assert.ok(e instanceof FerryError, `expected FerryError E_IO, got ${String(e)}`);
    assert.equal(e.code, "E_IO");
    if (systemCode !== undefined) assert.equal(e.data.systemCode, systemCode);
    return true;
  });
}

export function fileSystemContract(name: string, make: Make): void {
  const cases: [string, (u: FsUnderTest) => Promise<void>][] = [
    [
      "a missing path: stat undefined, reads fail with E_IO ENOENT, readdir empty",
      async ({ fs, root }) => {
        const missing = join(root, "missing");
        assert.equal(await fs.stat(missing), undefined);
        assert.equal(await fs.stat(join(missing, "below")), undefined);
        await rejectsIo(fs.readFile(missing), "ENOENT");
        await rejectsIo(fs.readRange(missing, 0, 1), "ENOENT");
        await rejectsIo(fs.createWriter(join(missing, "f")), "ENOENT");
        assert.deepEqual(await fs.readdir(missing), []);
      },
    ],
    [
      "writeFile then readFile and stat: content, size, kind, not executable",
      async ({ fs, root }) => {
        const f = join(root, "a.txt");
        await fs.writeFile(f, bytes("hello"));
        assert.equal(text(await fs.readFile(f)), "hello");
        const s = await fs.stat(f);
        assert.equal(s?.kind, "file");
        assert.equal(s?.size, 5);
        assert.equal(s?.executable, false);
        assert.equal((await fs.stat(root))?.kind, "directory");
        await fs.writeFile(f, bytes("hi"));
        assert.equal(text(await fs.readFile(f)), "hi", "writeFile replaces the whole content");
      },
    ],
    [
      "readRange: inside, running past the end (short), wholly past the end (empty)",
      async ({ fs, root }) => {
        const f = join(root, "r");
        await fs.writeFile(f, bytes("0123456789"));
        assert.equal(text(await fs.readRange(f, 2, 3)), "234");
        assert.equal(text(await fs.readRange(f, 7, 10)), "789");
        assert.equal((await fs.readRange(f, 20, 4)).length, 0);
        assert.equal((await fs.readRange(f, 0, 0)).length, 0);
      },
    ],
    [
      "readBlocks yields the whole content in order (copied block by block)",
      async ({ fs, root }) => {
        const f = join(root, "big");
        const data = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 31) % 251);
        await fs.writeFile(f, data);
        const blocks: Uint8Array[] = [];
        for await (const b of fs.readBlocks(f)) blocks.push(new Uint8Array(b));
        assert.ok(Buffer.concat(blocks).equals(data));
        const empty = join(root, "empty");
        await fs.writeFile(empty, new Uint8Array(0));
        let n = 0;
        for await (const b of fs.readBlocks(empty)) n += b.length;
        assert.equal(n, 0);
      },
    ],
    [
      "createWriter: writes append, commit keeps them, mode sets executable, an existing file is truncated",
      async ({ fs, root }) => {
        const f = join(root, "w");
        await fs.writeFile(f, bytes("old content that is long"));
        const w = await fs.createWriter(f, 0o755);
        await w.write(bytes("ab"));
        await w.write(bytes("cd"));
        await w.commit();
        assert.equal(text(await fs.readFile(f)), "abcd");
        const fresh = join(root, "x");
        const w2 = await fs.createWriter(fresh, 0o755);
        await w2.write(bytes("#!"));
        await w2.commit();
        assert.equal((await fs.stat(fresh))?.executable, true);
        const aborted = join(root, "aborted");
        const w3 = await fs.createWriter(aborted);
        await w3.write(bytes("partial"));
        await w3.abort();
        assert.equal(
          (await fs.stat(aborted))?.kind,
          "file",
          "abort closes; removing the file is the caller's",
        );
      },
    ],
    [
      "writeFileAtomic creates and replaces, with its mode, and leaves no temp file",
      async ({ fs, root }) => {
        const f = join(root, "state.json");
        await fs.writeFileAtomic(f, bytes("1"));
        await fs.writeFileAtomic(f, bytes("22"), 0o755);
        assert.equal(text(await fs.readFile(f)), "22");
        assert.equal((await fs.stat(f))?.executable, true);
        assert.deepEqual(await fs.readdir(root), ["state.json"]);
      },
    ],
    [
      "createExclusive: true and written when absent, false and untouched when present",
      async ({ fs, root }) => {
        const f = join(root, "lock");
        assert.equal(await fs.createExclusive(f, bytes("first")), true);
        assert.equal(await fs.createExclusive(f, bytes("second")), false);
        assert.equal(text(await fs.readFile(f)), "first");
        assert.deepEqual(await fs.readdir(root), ["lock"], "no temp file left beside it");
      },
    ],
    [
      "rename: moves, overwrites a file atomically (same inode as the source), moves directories",
      async ({ fs, root }) => {
        const a = join(root, "a");
        const b = join(root, "b");
        await fs.writeFile(a, bytes("new"));
        await fs.writeFile(b, bytes("old"));
        const ino = (await fs.stat(a))?.ino;
        await fs.rename(a, b);
        assert.equal(await fs.stat(a), undefined);
        assert.equal(text(await fs.readFile(b)), "new");
        assert.equal((await fs.stat(b))?.ino, ino, "rename keeps the file's identity");
        await fs.mkdirp(join(root, "d1", "sub"));
        await fs.writeFile(join(root, "d1", "sub", "f"), bytes("x"));
        await fs.rename(join(root, "d1"), join(root, "d2"));
        assert.equal(text(await fs.readFile(join(root, "d2", "sub", "f"))), "x");
        assert.equal(await fs.stat(join(root, "d1")), undefined);
        await rejectsIo(fs.rename(join(root, "nope"), join(root, "c")), "ENOENT");
        await rejectsIo(fs.rename(b, join(root, "no-dir", "c")), "ENOENT");
      },
    ],
    [
      "readdir: the names of a directory's entries, in any order",
      async ({ fs, root }) => {
        for (const n of ["c", "a", "b"]) await fs.writeFile(join(root, n), bytes(n));
        await fs.mkdirp(join(root, "dir"));
        assert.deepEqual((await fs.readdir(root)).sort(), ["a", "b", "c", "dir"]);
        await rejectsIo(fs.readdir(join(root, "a")));
      },
    ],
    [
      "unlink, rmdirIfEmpty, removeTree: missing is not an error; a non-empty directory stays",
      async ({ fs, root }) => {
        await fs.unlink(join(root, "missing"));
        const f = join(root, "f");
        await fs.writeFile(f, bytes("x"));
        await fs.unlink(f);
        assert.equal(await fs.stat(f), undefined);
        const d = join(root, "d");
        await fs.mkdirp(join(d, "e"));
        await fs.writeFile(join(d, "e", "g"), bytes("y"));
        assert.equal(await fs.rmdirIfEmpty(d), false);
        assert.equal(await fs.rmdirIfEmpty(join(root, "absent")), false);
        assert.equal((await fs.stat(d))?.kind, "directory");
        await fs.removeTree(d);
        assert.equal(await fs.stat(d), undefined);
        await fs.removeTree(d);
        await fs.mkdirp(d);
        assert.equal(await fs.rmdirIfEmpty(d), true);
        assert.equal(await fs.stat(d), undefined);
      },
    ],
    [
      "mkdirp: nested, idempotent; through a file it fails with E_IO",
      async ({ fs, root }) => {
        const d = join(root, "a", "b", "c");
        await fs.mkdirp(d);
        await fs.mkdirp(d);
        assert.equal((await fs.stat(d))?.kind, "directory");
        await fs.writeFile(join(root, "file"), bytes("x"));
        await rejectsIo(fs.mkdirp(join(root, "file", "sub")));
      },
    ],
    [
      "chmod sets and clears the executable bit",
      async ({ fs, root }) => {
        const f = join(root, "run.sh");
        await fs.writeFile(f, bytes("#!/bin/sh"));
        await fs.chmod(f, 0o755);
        assert.equal((await fs.stat(f))?.executable, true);
        await fs.chmod(f, 0o644);
        assert.equal((await fs.stat(f))?.executable, false);
        await rejectsIo(fs.chmod(join(root, "missing"), 0o644), "ENOENT");
      },
    ],
    [
      "fsyncDir may be called any number of times on a directory; a missing one fails with E_IO",
      async ({ fs, root }) => {
        await fs.mkdirp(join(root, "d"));
        for (let i = 0; i < 3; i++) await fs.fsyncDir(join(root, "d"));
        await fs.fsyncDir(root);
        await rejectsIo(fs.fsyncDir(join(root, "missing")));
      },
    ],
    [
      "inodes: distinct files differ, a hard link (when offered) shares one; link onto an existing path fails",
      async ({ fs, root }) => {
        const a = join(root, "a");
        const b = join(root, "b");
        await fs.writeFile(a, bytes("a"));
        await fs.writeFile(b, bytes("b"));
        assert.notEqual((await fs.stat(a))?.ino, (await fs.stat(b))?.ino);
        if (!fs.link) return;
        const c = join(root, "c");
        await fs.link(a, c);
        assert.equal((await fs.stat(c))?.ino, (await fs.stat(a))?.ino);
        assert.equal(text(await fs.readFile(c)), "a");
        await rejectsIo(fs.link(a, b), "EEXIST");
      },
    ],
    [
      "freeSpace: a byte count and a block size for an existing path",
      async ({ fs, root }) => {
        const s = await fs.freeSpace(root);
        assert.ok(Number.isFinite(s.available) && s.available >= 0);
        assert.ok(s.blockSize > 0);
      },
    ],
  ];
  for (const [title, run] of cases) {
    test(`FileSystem contract (${name}): ${title}`, async (t) => run(await make(t)));
  }
}
