import type { Clock } from "../ports/clock.js";
import type { FileSystem } from "../ports/fs.js";
import type { Transport, TransportLimits } from "../ports/transport.js";
import { HttpTransport } from "./http-transport.js";
import { nodeBrotli } from "./node-codec.js";
import { nodeCrypto } from "./node-crypto.js";
import { NodeFileSystem } from "./node-fs.js";
import { nodeHost } from "./node-host.js";
import { DEFAULT_RENAME_WAIT_MS, RenameRetryFileSystem } from "./rename-retry.js";
import { systemClock } from "./system-clock.js";

/**
 * The client's defaults on Node (client/defaults.ts DefaultDeps; registered by src/register-node.ts: the
 * adapters never import the client).
 */
export const nodeClientDefaults = {
  // Renames refused for a moment (Windows antivirus) are retried for a bounded time.
  fileSystem: (clock: Clock): FileSystem =>
    new RenameRetryFileSystem(new NodeFileSystem(), { clock, maxWaitMs: DEFAULT_RENAME_WAIT_MS }),
  transport: (limits: TransportLimits): Transport => new HttpTransport(limits),
  clock: systemClock,
  host: nodeHost,
  crypto: nodeCrypto,
  brotli: nodeBrotli,
};
