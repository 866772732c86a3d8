import "../../src/register-node.js";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { HttpTransport } from "../../src/node/http-transport.js";
import { serveRepository } from "../../src/server/static-server.js";
import { MemoryTransport } from "../../src/testing/memory-transport.js";
import { transportContract } from "./transport-contract.js";

transportContract("memory", async (_t, files) => {
  const base = "http://memory.invalid/repo/";
  return { transport: MemoryTransport.serving(base, files), base };
});

transportContract("http over the static server", async (t, files) => {
  const root = await mkdtemp(join(tmpdir(), "ferry-transport-contract-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  for (const [path, bytes] of files) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), bytes);
  }
  const server = await serveRepository({ root });
  t.after(() => server.close());
  return { transport: new HttpTransport(), base: server.url };
});
