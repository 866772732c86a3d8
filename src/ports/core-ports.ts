import type { Brotli, PublisherBrotli } from "./codec.js";
import type { Crypto, SyncSha256 } from "./crypto.js";

/** What the portable core needs from its host: hashing and signatures, and brotli. */
export interface CorePorts {
  readonly crypto: Crypto;
  readonly brotli: Brotli;
}

/** The publisher's ports: the core's, plus a synchronous hash and a threaded brotli encoder. */
export interface PublisherPorts extends CorePorts {
  readonly crypto: Crypto & SyncSha256;
  readonly brotli: PublisherBrotli;
}
