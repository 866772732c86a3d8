import { createHash, createPublicKey, type KeyObject, verify } from "node:crypto";
import type { Crypto, Sha256Hasher, SyncSha256 } from "../ports/crypto.js";

// DER SubjectPublicKeyInfo prefix for a raw 32-byte Ed25519 key (RFC 8410).
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/** Key objects per raw key: a key verifies many signatures, and building its KeyObject costs more. */
const keyObjects = new WeakMap<Uint8Array, KeyObject>();

/** A KeyObject for a raw Ed25519 public key (the Node side of the data model's raw bytes). */
export function ed25519KeyObject(raw: Uint8Array): KeyObject {
  let key = keyObjects.get(raw);
  if (key === undefined) {
    key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: "der", type: "spki" });
    keyObjects.set(raw, key);
  }
  return key;
}

/** The raw 32 bytes of an Ed25519 KeyObject (public, or the public half of a private one). */
export function ed25519Raw(key: KeyObject): Uint8Array {
  const publicKey = key.type === "public" ? key : createPublicKey(key);
  const der = publicKey.export({ format: "der", type: "spki" });
  return new Uint8Array(der.subarray(SPKI_PREFIX.length));
}

/** Synchronous SHA-256 hex, for Node-side code (publisher, tests, tools). */
export function sha256(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Incremental SHA-256 with a synchronous digest, for Node-side code. */
export function sha256Stream() {
  const hash = createHash("sha256");
  let length = 0;
  return {
    update(data: Uint8Array): void {
      hash.update(data);
      length += data.length;
    },
    get length(): number {
      return length;
    },
    digest(): string {
      return hash.digest("hex");
    },
  };
}

/**
 * The crypto port on node:crypto. Results are computed synchronously and handed over already resolved,
 * so the asynchronous interface costs the Node path one microtask per call (bench/core-ports.ts).
 */
export const nodeCrypto: Crypto & SyncSha256 = {
  sha256: (data) => Promise.resolve(sha256(data)),
  sha256Sync: sha256,
  createSha256(): Sha256Hasher {
    const stream = sha256Stream();
    return {
      update: (data) => stream.update(data),
      get length() {
        return stream.length;
      },
      digest: () => Promise.resolve(stream.digest()),
    };
  },
  verifyEd25519(publicKey, data, signature) {
    if (publicKey.length !== 32 || signature.length !== 64) return Promise.resolve(false);
    return Promise.resolve(verify(null, data, ed25519KeyObject(publicKey), signature));
  },
};
