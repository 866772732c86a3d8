import { readFile } from "node:fs/promises";
import { InstallLayout } from "../../src/client/install/layout.js";
import { readState } from "../../src/client/install/read-state.js";
import { decodeManifest } from "../../src/client/remote/remote.js";
import type { Manifest } from "../../src/core/manifest.js";
import { nodeCrypto } from "../../src/node/node-crypto.js";
import { NodeFileSystem } from "../../src/node/node-fs.js";
import { nodePorts } from "../../src/node/node-ports.js";

/** The installed manifest of an install (read from its .ferry/, verified against the state's pin). */
export async function installedManifest(install: string): Promise<Manifest> {
  const layout = new InstallLayout(install);
  const state = (await readState({ fs: new NodeFileSystem(), layout, crypto: nodeCrypto }))!;
  return decodeManifest(
    nodePorts,
    await readFile(layout.manifest(state.manifest.hash)),
    state.manifest,
    "test",
  );
}
