import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { isFerryError } from "../../src/core/errors.js";
import { openStore } from "../../src/publisher/open-store.js";
import { DirectoryStore } from "../../src/publisher/repo-store.js";
import { loadS3Sdk, type S3Sdk } from "../../src/publisher/s3-sdk.js";

/** Fails exactly as a missing package does: a real ESM resolution of a package that is not installed. */
const missingSdk = (): Promise<S3Sdk> =>
  import(["@aws-sdk", "client-s3-not-installed"].join("/")) as Promise<S3Sdk>;

function missingDependency(error: unknown): boolean {
  assert.ok(isFerryError(error), `a FerryError, got ${String(error)}`);
  assert.equal(error.code, "E_MISSING_DEPENDENCY");
  assert.match(error.message, /npm install @aws-sdk\/client-s3/);
  assert.equal(error.data.package, "@aws-sdk/client-s3");
  assert.equal((error.cause as { code?: string }).code, "ERR_MODULE_NOT_FOUND");
  return true;
}

test("a missing AWS SDK is E_MISSING_DEPENDENCY naming npm install @aws-sdk/client-s3", async () => {
  await assert.rejects(loadS3Sdk(missingSdk), missingDependency);
});

test("openStore of s3:// without the SDK fails with E_MISSING_DEPENDENCY; a directory never loads it", async (t) => {
  await assert.rejects(openStore("s3://games/stable", {}, {}, missingSdk), missingDependency);
  const dir = await mkdtemp(join(tmpdir(), "ferry-s3-sdk-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  let imported = false;
  const store = await openStore(dir, {}, {}, () => {
    imported = true;
    return missingSdk();
  });
  assert.ok(store instanceof DirectoryStore);
  assert.equal(imported, false);
});

test("other failures while loading the SDK pass through unchanged", async () => {
  const broken = new Error("syntax error in the SDK");
  await assert.rejects(
    loadS3Sdk(() => Promise.reject(broken)),
    (error) => error === broken,
  );
});

test("the installed SDK (a devDependency here) loads through the default importer", async () => {
  const sdk = await loadS3Sdk();
  assert.equal(typeof sdk.S3Client, "function");
  assert.equal(typeof sdk.PutObjectCommand, "function");
});
