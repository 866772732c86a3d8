import type { PublisherPorts } from "../ports/core-ports.js";
import { nodeBrotli } from "./node-codec.js";
import { nodeCrypto } from "./node-crypto.js";

/** The core's ports on Node (node:crypto, node:zlib): the default of every Node entry point. */
export const nodePorts: PublisherPorts = { crypto: nodeCrypto, brotli: nodeBrotli };
