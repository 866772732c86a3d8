/**
 * The RepoStore contract (src/publisher/repo-store.ts) a publisher relies on, run against any store:
 * missing objects, whole and ranged reads, listing direct children, idempotent delete, putFile from
 * tempPath, and — where the store declares them — compare-and-swap writes and the writer lock.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { test } from "node:test";
import { FerryError, type FerryErrorCode } from "../../src/core/errors.js";
import type { RepoStore } from "../../src/publisher/repo-store.js";

type Make = (t: { after(fn: () => Promise<void>): void }) => Promise<RepoStore>;

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

async function rejectsCode(action: Promise<unknown>, code: FerryErrorCode): Promise<void> {
  await assert.rejects(action, (e: unknown) => {
    assert.ok(e instanceof FerryError, `expected FerryError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

export interface StoreContractOptions {
  /** Why the backend cannot honour conditional writes (writeIf, and the lock built on it): those cases are skipped. */
  readonly noConditionalWrites?: string;
}

export function repoStoreContract(name: string, make: Make, options: StoreContractOptions = {}): void {
  const cases: [string, (store: RepoStore) => Promise<void>, boolean?][] = [
    [
      "a missing object: read and head undefined, exists false, delete is no error, list empty",
      async (store) => {
        assert.equal(await store.read("channels/none.json"), undefined);
        assert.equal(await store.head("channels/none.json"), undefined);
        assert.equal(await store.exists("channels/none.json"), false);
        await store.delete("channels/none.json");
        assert.deepEqual(await store.list("nothing"), []);
      },
    ],
    [
      "write then read, head (size) and exists; a second write replaces the object whole",
      async (store) => {
        await store.write("root/1.json", bytes("first version"));
        assert.equal(text(await store.read("root/1.json")), "first version");
        assert.equal((await store.head("root/1.json"))?.size, 13);
        assert.equal(await store.exists("root/1.json"), true);
        await store.write("root/1.json", bytes("v2"));
        assert.equal(text(await store.read("root/1.json")), "v2");
        assert.equal((await store.head("root/1.json"))?.size, 2);
      },
    ],
    [
      "readRange: exactly the bytes asked for, fewer only past the end",
      async (store) => {
        await store.write("packs/p.pack", bytes("0123456789"));
        assert.equal(text(await store.readRange("packs/p.pack", 3, 4)), "3456");
        assert.equal(text(await store.readRange("packs/p.pack", 8, 10)), "89");
      },
    ],
    [
      "list: the direct children of a prefix (objects and sub-prefixes), in any order",
      async (store) => {
        await store.write("manifests/a.json", bytes("a"));
        await store.write("manifests/b.json", bytes("b"));
        await store.write("manifests/sub/c.json", bytes("c"));
        await store.write("other/d.json", bytes("d"));
        assert.deepEqual((await store.list("manifests")).sort(), [
          "manifests/a.json",
          "manifests/b.json",
          "manifests/sub",
        ]);
      },
    ],
    [
      "delete removes an object",
      async (store) => {
        await store.write("channels/x.json", bytes("x"));
        await store.delete("channels/x.json");
        assert.equal(await store.read("channels/x.json"), undefined);
        assert.deepEqual(await store.list("channels"), []);
      },
    ],
    [
      "putFile moves a finished temp file (from tempPath) into the repository",
      async (store) => {
        const temp = await store.tempPath();
        await writeFile(temp, bytes("pack content"));
        await store.putFile("packs/q.pack", temp);
        assert.equal(text(await store.read("packs/q.pack")), "pack content");
        assert.deepEqual(await store.list("packs"), ["packs/q.pack"], "no temp file is listed");
      },
    ],
    [
      "writeIf (when offered): create only if absent, replace only the version read, else E_CONFLICT and nothing written",
      async (store) => {
        if (!store.writeIf || !store.readTagged) return;
        const path = "channels/stable.json";
        assert.equal(await store.readTagged(path), undefined);
        await store.writeIf(path, bytes("one"), null);
        const first = await store.readTagged(path);
        assert.equal(text(first?.data), "one");
        await rejectsCode(store.writeIf(path, bytes("rival"), null), "E_CONFLICT");
        assert.equal(text(await store.read(path)), "one");
        await store.writeIf(path, bytes("two"), first!.tag);
        const second = await store.readTagged(path);
        assert.equal(text(second?.data), "two");
        assert.notEqual(second?.tag, first?.tag);
        await rejectsCode(store.writeIf(path, bytes("three"), first!.tag), "E_CONFLICT");
        assert.equal(text(await store.read(path)), "two");
      },
      true,
    ],
    [
      "lock (when offered): one writer at a time (E_LOCKED), free again once released",
      async (store) => {
        if (!store.lock) return;
        const held = await store.lock("publish");
        await held.assertHeld();
        await rejectsCode(store.lock("resign"), "E_LOCKED");
        await held.release();
        const next = await store.lock("resign");
        await next.release();
      },
      true,
    ],
  ];
  for (const [title, run, conditional] of cases) {
    const skip = conditional === true ? options.noConditionalWrites : undefined;
    test(`RepoStore contract (${name}): ${title}`, skip ? { skip } : {}, async (t) => run(await make(t)));
  }
}
