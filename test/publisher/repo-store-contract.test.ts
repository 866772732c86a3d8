import "../../src/register-node.js";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { DirectoryStore } from "../../src/publisher/repo-store.js";
import { MemoryStore } from "../../src/testing/memory-store.js";
import { startS3Server, type TestS3Server } from "../../src/testing/s3-server.js";
import { repoStoreContract } from "./repo-store-contract.js";

repoStoreContract("memory", async (t) => {
  const store = new MemoryStore();
  t.after(() => store.close());
  return store;
});

repoStoreContract("directory", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "ferry-store-contract-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  return new DirectoryStore(root);
});

// The S3 store over s3rver, as test/publisher/s3-publish.test.ts runs it: one server, a fresh prefix per case.
let s3: TestS3Server;
let prefixes = 0;
before(async () => {
  s3 = await startS3Server();
});
after(() => s3.close());
// s3rver ignores If-Match/If-None-Match on PUT; the conditional cases run against Ceph RGW in s3-ceph.test.ts.
repoStoreContract("s3 (s3rver)", async () => s3.store(`case-${++prefixes}`), {
  noConditionalWrites: "s3rver does not evaluate conditional PUTs",
});
