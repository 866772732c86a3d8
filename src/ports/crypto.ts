/**
 * Hashing and signature verification, as the core and the client need them (issue 15: a core that runs
 * where a browser does). Asynchronous because WebCrypto is: it has no synchronous digest and no
 * synchronous Ed25519 verify. The Node implementation is src/node/node-crypto.ts.
 */
export interface Crypto {
  /** SHA-256 of `data` as 64 lowercase hex digits. */
  sha256(data: Uint8Array): Promise<string>;
  /** An incremental SHA-256 for streamed data; memory does not grow with the input. */
  createSha256(): Sha256Hasher;
  /**
   * RFC 8032 Ed25519 verification of `signature` over `data` with the raw 32-byte `publicKey`. Resolves
   * false (never rejects) for a wrong-length signature or key, or any signature that does not verify.
   */
  verifyEd25519(publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): Promise<boolean>;
}

/** `update` is synchronous (streams feed it as they read); only the final digest may wait. */
export interface Sha256Hasher {
  update(data: Uint8Array): void;
  /** Bytes passed to `update` so far. */
  readonly length: number;
  /** The digest as 64 lowercase hex digits; the hasher may not be used afterwards. */
  digest(): Promise<string>;
}

/**
 * Synchronous SHA-256 for the publisher, which runs on Node only (building a release hashes every
 * object it writes inline). A client never needs it.
 */
export interface SyncSha256 {
  sha256Sync(data: Uint8Array): string;
}
