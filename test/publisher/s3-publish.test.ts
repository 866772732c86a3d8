import "../../src/register-node.js";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { update } from "../../src/client/ops/update.js";
import { objectPolicy, STAGE_ORDER } from "../../src/publisher/object-policy.js";
import { publish, type PublishEvent } from "../../src/publisher/publish.js";
import { FailingStore } from "../../src/testing/failing-store.js";
import { sampleGame, writeGame } from "../../src/testing/game-fixture.js";
import { startS3Server } from "../../src/testing/s3-server.js";
import { expectedTree, keys, readTree, sortedEntries, tempDir } from "../helpers/helpers.js";

const when = (v: number) => new Date(Date.UTC(2026, 0, v));
const common = { expiresInDays: 36500, rootExpiresInDays: 36500 } as const;
/** Small packs give the interrupted-publish test more points to stop at. */
const SMALL_PACKS = 64 * 1024;

async function builds(dir: string): Promise<(v: 1 | 2) => string> {
  for (const v of [1, 2] as const) await writeGame(join(dir, `build-v${v}`), sampleGame(v));
  return (v) => join(dir, `build-v${v}`);
}

test("S3: publish through the AWS SDK to a real S3 server, in safe order, with cache headers; a client installs and updates from the bucket", async (t) => {
  const dir = await tempDir(t);
  const s3 = await startS3Server();
  t.after(() => s3.close());
  const build = await builds(dir);
  const { key, pub } = keys();
  const events: PublishEvent[] = [];
  // A small multipart threshold: the 1.5 MB level pack goes up in 256 KiB parts.
  const store = () => s3.store("games/demo", { multipartThreshold: 512 * 1024, partSize: 256 * 1024 });
  const v1 = await publish({
    buildDir: build(1),
    repo: store(),
    version: "1.0.0",
    key,
    created: when(1),
    ...common,
    onEvent: (e) => events.push(e),
  });
  // The writer lock object (taken and removed by every publish) is not repository content.
  const keysV1 = s3.created
    .map((c) => c.key.replace(/^games\/demo\//, ""))
    .filter((k) => k !== ".ferry-lock");
  // Order: every pack before any metadata, metadata before roots, the pointer last.
  const stages = keysV1.map((k) => STAGE_ORDER.indexOf(objectPolicy(k).stage));
  assert.deepEqual(
    stages,
    [...stages].sort((a, b) => a - b),
    `upload order ${keysV1.join(", ")}`,
  );
  assert.equal(keysV1.at(-1), "channels/stable.json");
  assert.ok(keysV1.includes("root/1.json") && keysV1.includes(`manifests/${v1.manifestHash}`));
  assert.ok(
    s3.created.some((c) => c.event === "ObjectCreated:Post" && c.key.endsWith(".pack")),
    "the large pack went up as a multipart upload",
  );
  assert.equal(new Set(keysV1).size, keysV1.length, "each object is stored once");
  assert.deepEqual(
    events.filter((e) => e.type === "upload-stage").map((e) => e.stage),
    ["metadata", "roots", "pointers"],
  );
  assert.equal(events.filter((e) => e.type === "upload").length, keysV1.length);

  // Headers as served over plain HTTP from the bucket.
  const base = s3.url("games/demo");
  const pack = keysV1.find((k) => k.endsWith(".pack"))!;
  for (const [path, cache, type] of [
    [pack, "public, max-age=31536000, immutable", "application/octet-stream"],
    [`manifests/${v1.manifestHash}`, "public, max-age=31536000, immutable", "application/octet-stream"],
    ["channels/stable.json", "no-cache", "application/json"],
    ["root/1.json", "no-cache", "application/json"],
  ] as const) {
    const response = await fetch(new URL(path, base));
    await response.arrayBuffer();
    assert.equal(response.status, 200, path);
    assert.equal(response.headers.get("cache-control"), cache, path);
    assert.equal(response.headers.get("content-type"), type, path);
  }

  // s3rver answers a multi-range request with one 206 covering the whole object: use single ranges.
  const installDir = join(dir, "install");
  const client = { repoUrl: base, installDir, trust: [pub], rangeMode: "single" } as const;
  assert.equal((await update(client)).version, "1.0.0");
  assert.deepEqual(sortedEntries(await readTree(installDir)), sortedEntries(expectedTree(1)));

  // v2 reads v1 back through the SDK (chunk index, delta history) and equals a directory publish.
  const v2 = await publish({
    buildDir: build(2),
    repo: store(),
    version: "2.0.0",
    key,
    created: when(2),
    ...common,
  });
  const local = join(dir, "local-repo");
  await publish({ buildDir: build(1), repo: local, version: "1.0.0", key, created: when(1), ...common });
  const v2local = await publish({
    buildDir: build(2),
    repo: local,
    version: "2.0.0",
    key,
    created: when(2),
    ...common,
  });
  assert.equal(v2.manifestHash, v2local.manifestHash, "S3 and directory publishes are the same release");
  assert.ok(v2.deltas > 0, "deltas were built from v1 read through the S3 store");
  const updated = await update(client);
  assert.equal(updated.previousVersion, "1.0.0");
  assert.equal(updated.version, "2.0.0");
  assert.deepEqual(sortedEntries(await readTree(installDir)), sortedEntries(expectedTree(2)));
});

test("S3: a publish interrupted after every single upload leaves the old release fully installable; re-runs upload only what is missing", async (t) => {
  const dir = await tempDir(t);
  const s3 = await startS3Server();
  t.after(() => s3.close());
  const build = await builds(dir);
  const { key, pub } = keys();
  await publish({
    buildDir: build(1),
    repo: s3.store("r"),
    version: "1.0.0",
    key,
    created: when(1),
    ...common,
  });
  const base = s3.url("r");
  const installed = join(dir, "installed");
  const client = { trust: [pub], rangeMode: "single", repoUrl: base } as const;
  await update({ ...client, installDir: installed });
  const before = s3.created.length;

  let attempts = 0;
  for (;;) {
    attempts++;
    assert.ok(attempts < 100, "the publish converges");
    // Each run may store one more object, then every write fails (as if the publisher died there).
    const failing = new FailingStore(s3.store("r"), 1);
    const run = publish({
      buildDir: build(2),
      repo: failing,
      version: "2.0.0",
      key,
      created: when(2),
      maxPackSize: SMALL_PACKS,
      ...common,
    });
    const outcome = await run.then(
      () => "published",
      (error: unknown) => error,
    );
    if (outcome === "published") break;
    assert.match(String((outcome as Error).message), /Injected failure/);
    // The old release is still served whole: the install is up to date at v1, a fresh install gets v1.
    const check = await update({ ...client, installDir: installed });
    assert.equal(check.upToDate, true, `after ${failing.writes.join(", ")}`);
    assert.equal(check.version, "1.0.0");
    const fresh = join(dir, `fresh-${attempts}`);
    await update({ ...client, installDir: fresh });
    assert.deepEqual(
      sortedEntries(await readTree(fresh)),
      sortedEntries(expectedTree(1)),
      `after attempt ${attempts}`,
    );
    await rm(fresh, { recursive: true, force: true });
  }
  const written = s3.created
    .slice(before)
    .map((c) => c.key)
    .filter((k) => !k.endsWith("/.ferry-lock"));
  assert.equal(new Set(written).size, written.length, `no object was uploaded twice: ${written.join(", ")}`);
  assert.equal(written.at(-1), "r/channels/stable.json");
  assert.ok(
    written.filter((k) => k.endsWith(".pack")).length >= 3,
    "several packs, so many interruption points",
  );
  assert.equal(written.length, attempts, "each run stored exactly one new object, the last run the pointer");
  t.diagnostic(
    `${attempts - 1} interrupted runs, then one that finished; ${written.length} objects stored once each`,
  );
  const after = await update({ ...client, installDir: installed });
  assert.equal(after.version, "2.0.0");
  assert.deepEqual(sortedEntries(await readTree(installed)), sortedEntries(expectedTree(2)));
});

test("S3 CLI: ferry publish/resign --repo s3:// with --s3-* flags or FERRY_S3_* variables and credentials from the environment; ferry update --mirror", async (t) => {
  const dir = await tempDir(t);
  const s3 = await startS3Server();
  t.after(() => s3.close());
  const build = await builds(dir);
  const cli = join(import.meta.dirname, "..", "..", "src", "cli", "main.js");
  const run = async (args: string[], env: Record<string, string> = {}) => {
    const child = await promisify(execFile)(process.execPath, [cli, ...args], {
      env: {
        PATH: process.env.PATH ?? "",
        HOME: dir, // no shared AWS config of the machine
        AWS_ACCESS_KEY_ID: "S3RVER",
        AWS_SECRET_ACCESS_KEY: "S3RVER",
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
        ...env,
      },
    });
    return child.stdout;
  };
  await run(["keygen", join(dir, "keys")]);
  const flags = ["--s3-endpoint", s3.endpoint, "--s3-region", "us-east-1", "--s3-path-style"];
  const published = await run([
    "publish",
    build(1),
    "--repo",
    `s3://${s3.bucket}/cli/demo`,
    ...flags,
    "--version",
    "1.0.0",
    "--key",
    join(dir, "keys", "ferry.key"),
  ]);
  assert.match(published, /Published 1\.0\.0 to channel 'stable' \(serial 1\)/);
  const resigned = await run(
    ["resign", "--repo", `s3://${s3.bucket}/cli/demo`, "--key", join(dir, "keys", "ferry.key")],
    { FERRY_S3_ENDPOINT: s3.endpoint, FERRY_S3_PATH_STYLE: "1" },
  );
  assert.match(resigned, /serial 2/);
  const pointer = await fetch(new URL("channels/stable.json", s3.url("cli/demo")));
  assert.equal(pointer.headers.get("cache-control"), "no-cache");
  assert.match(await pointer.text(), /"serial": 2,/);
  // The first mirror refuses connections; the bucket is the second.
  const installDir = join(dir, "install");
  const updated = await run([
    "update",
    "http://127.0.0.1:1/",
    installDir,
    "--mirror",
    `${s3.url("cli/demo")}`,
    "--trust",
    join(dir, "keys", "ferry.pub"),
  ]);
  assert.match(updated, /Updated \(fresh install\) -> 1\.0\.0/);
  assert.deepEqual(sortedEntries(await readTree(installDir)), sortedEntries(expectedTree(1)));
});
