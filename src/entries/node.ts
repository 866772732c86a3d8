/**
 * `ferry/node`: the Node implementations of the ports (file system with fsync/rename/locks, HTTP
 * transport, clock) that the client and publisher use by default. Pass them, or wrap them
 * (ForwardingFileSystem), where an operation takes a `fs`, `transport` or `clock`.
 */
export * from "../node/forwarding-fs.js";
export * from "../node/http-transport.js";
export * from "../node/node-fs.js";
export * from "../node/rename-retry.js";
export * from "../node/system-clock.js";
