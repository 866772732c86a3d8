/**
 * `ferry/node`: the Node implementations of the ports (file system with fsync/rename/locks, HTTP
 * transport, clock, host, node:crypto, zlib brotli). Importing it registers them as the client's
 * defaults (src/register-node.ts), so `ferry/client` operations called without deps use them; pass
 * them, or wrap them (ForwardingFileSystem), where an operation takes a `fs`, `transport` or `clock`.
 */
import "../register-node.js";

export * from "../node/forwarding-fs.js";
export * from "../node/http-transport.js";
export * from "../node/node-fs.js";
export * from "../node/rename-retry.js";
export * from "../node/system-clock.js";
export { nodeHost } from "../node/node-host.js";
export { nodeCrypto } from "../node/node-crypto.js";
export { nodeBrotli } from "../node/node-codec.js";
export { nodeClientDefaults } from "../node/client-defaults.js";
