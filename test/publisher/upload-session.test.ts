import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { FerryError } from "../../src/core/errors.js";
import { IMMUTABLE_CACHE_CONTROL, objectPolicy } from "../../src/publisher/object-policy.js";
import { parseS3Url } from "../../src/publisher/open-store.js";
import { DirectoryStore } from "../../src/publisher/repo-store.js";
import { type UploadEvent, UploadSession } from "../../src/publisher/upload-session.js";
import { expectCode, tempDir } from "../helpers/helpers.js";

const hash = "ab".repeat(32);

test("object policy: content-addressed objects are immutable and staged before metadata, roots and pointers", () => {
  assert.deepEqual(objectPolicy(`packs/${hash}.pack`), {
    stage: "objects",
    immutable: true,
    contentType: "application/octet-stream",
    cacheControl: IMMUTABLE_CACHE_CONTROL,
  });
  assert.equal(objectPolicy(`packs/${hash}.idx.json`).stage, "metadata");
  assert.equal(objectPolicy(`packs/${hash}.idx.json`).contentType, "application/json");
  assert.equal(objectPolicy(`manifests/${hash}`).stage, "metadata");
  assert.equal(objectPolicy(`objects/${hash.slice(0, 2)}/${hash}`).stage, "metadata");
  assert.deepEqual(
    [objectPolicy("root/3.json").stage, objectPolicy("root/3.json").cacheControl],
    ["roots", "no-cache"],
  );
  assert.equal(objectPolicy("ferry-repo.json").stage, "roots");
  assert.equal(objectPolicy("channels/stable.json").stage, "pointers");
  assert.equal(objectPolicy("channels/stable.json").immutable, false);
});

test("s3:// repository URLs: bucket and prefix, invalid forms refused", () => {
  assert.deepEqual(parseS3Url("s3://my-bucket/games/demo/"), { bucket: "my-bucket", prefix: "games/demo" });
  assert.deepEqual(parseS3Url("s3://my-bucket"), { bucket: "my-bucket", prefix: "" });
  assert.equal(parseS3Url("/srv/repo"), undefined);
  for (const bad of ["s3://", "s3://Bad_Bucket/x", "s3://bucket//x", "s3://bucket/a/../b"]) {
    expectCode(() => parseS3Url(bad), "E_USAGE");
  }
});

/** A directory store whose writes fail with HTTP 503 `failures` times first (per path). */
class FlakyStore extends DirectoryStore {
  readonly attempts = new Map<string, number>();
  constructor(
    root: string,
    private readonly failures: number,
  ) {
    super(root);
  }
  override async write(path: string, data: Uint8Array): Promise<void> {
    const n = (this.attempts.get(path) ?? 0) + 1;
    this.attempts.set(path, n);
    if (n <= this.failures) throw new FerryError("E_HTTP", "503 from the test store", { status: 503 });
    await super.write(path, data);
  }
}

test("upload session: transient failures are retried with backoff and reported; holds metadata until commit; skips present objects", async (t) => {
  const dir = await tempDir(t);
  const backend = new FlakyStore(join(dir, "repo"), 2);
  const events: UploadEvent[] = [];
  const sleeps: number[] = [];
  const session = new UploadSession(backend, {
    onEvent: (e) => events.push(e),
    sleep: async (ms) => void sleeps.push(ms),
  });
  await session.write(`packs/${hash}.pack`, new Uint8Array([1, 2, 3]));
  await session.write(`manifests/${hash}`, new Uint8Array([4]));
  await session.write("channels/stable.json", new Uint8Array([5]));
  // Held until commit, but visible to the publisher's own reads.
  assert.equal(await backend.exists("channels/stable.json"), false);
  assert.equal(await backend.exists(`manifests/${hash}`), false);
  assert.deepEqual(await session.read("channels/stable.json"), new Uint8Array([5]));
  assert.deepEqual(await session.list("channels"), ["channels/stable.json"]);
  await session.commit();
  assert.deepEqual([...(await backend.read("channels/stable.json"))!], [5]);
  assert.equal(backend.attempts.get(`packs/${hash}.pack`), 3);
  assert.deepEqual(sleeps, [500, 1000, 500, 1000, 500, 1000]);
  assert.equal(events.filter((e) => e.type === "upload-retry").length, 6);

  // A second session finds the immutable objects present and stores only the pointer.
  const again = new UploadSession(backend, { onEvent: (e) => events.push(e) });
  events.length = 0;
  await again.write(`packs/${hash}.pack`, new Uint8Array([1, 2, 3]));
  await again.write(`manifests/${hash}`, new Uint8Array([4]));
  await again.write("channels/stable.json", new Uint8Array([6]));
  await again.commit();
  assert.deepEqual(
    events.flatMap((e) => (e.type === "upload" ? [[e.path, e.skipped]] : [])),
    [
      [`packs/${hash}.pack`, true],
      [`manifests/${hash}`, true],
      ["channels/stable.json", false],
    ],
  );
});

test("upload session: a permanent failure of an object stops the publish before any metadata or pointer", async (t) => {
  const dir = await tempDir(t);
  const backend = new FlakyStore(join(dir, "repo"), 99);
  const session = new UploadSession(backend, { maxAttempts: 2, sleep: async () => undefined });
  await session.write(`packs/${hash}.pack`, new Uint8Array([1]));
  await session.write(`manifests/${hash}`, new Uint8Array([2]));
  await session.write("channels/stable.json", new Uint8Array([3]));
  await assert.rejects(session.commit(), (e: unknown) => e instanceof FerryError && e.code === "E_HTTP");
  assert.deepEqual([...backend.attempts.keys()], [`packs/${hash}.pack`], "nothing after the failed object");
  // Later writes fail at once instead of producing more work.
  await assert.rejects(session.write(`packs/${"cd".repeat(32)}.pack`, new Uint8Array([4])));
});
