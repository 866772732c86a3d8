/**
 * `ferry/client` under Node (the "node" export condition): the portable client of ./client.ts with the
 * Node adapters registered as its defaults, so `update({ repoUrl, installDir, trust })` works with no
 * deps. Other hosts (a browser bundle, an engine's runtime) resolve the "default" condition, client.ts,
 * which registers nothing.
 */
import "../register-node.js";

export * from "./client.js";
