import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";
import { FerryError } from "./errors.js";
import { sha256 } from "./hash.js";

/** Ed25519 keys, docs/FORMAT.md §6. */
export interface PublicKey {
  readonly keyid: string;
  readonly raw: Uint8Array;
  readonly key: KeyObject;
}

const PUBLIC_PREFIX = "ferry-ed25519:";
// DER SubjectPublicKeyInfo prefix for a raw 32-byte Ed25519 key (RFC 8410).
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

export function generateKeyPair(): { privatePem: string; publicText: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const raw = publicKey.export({ format: "der", type: "spki" }).subarray(SPKI_PREFIX.length);
  return {
    privatePem: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    publicText: `${PUBLIC_PREFIX}${Buffer.from(raw).toString("base64")}\n`,
  };
}

export function parsePublicKey(text: string, source: string): PublicKey {
  const trimmed = text.trim();
  const raw = trimmed.startsWith(PUBLIC_PREFIX)
    ? Buffer.from(trimmed.slice(PUBLIC_PREFIX.length), "base64")
    : undefined;
  // Node's base64 decoder is lenient; only the exact canonical encoding of 32 bytes is a key.
  if (raw?.length !== 32 || raw.toString("base64") !== trimmed.slice(PUBLIC_PREFIX.length)) {
    throw new FerryError(
      "E_KEY",
      `${source} is not a Ferry public key (expected one line "ferry-ed25519:<base64>"). Pass the ferry.pub written by 'ferry keygen'.`,
      { source },
    );
  }
  const key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: "der", type: "spki" });
  return { keyid: sha256(raw), raw, key };
}

export interface SigningKey {
  readonly keyid: string;
  readonly key: KeyObject;
}

export function parsePrivateKey(pem: string, source: string): SigningKey {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: "pem" });
  } catch (cause) {
    throw new FerryError(
      "E_KEY",
      `${source} is not a PEM private key. Pass the ferry.key written by 'ferry keygen'.`,
      { source },
      { cause },
    );
  }
  if (key.asymmetricKeyType !== "ed25519") {
    throw new FerryError(
      "E_KEY",
      `${source} is a ${key.asymmetricKeyType} key; Ferry signs with Ed25519. Create one with 'ferry keygen'.`,
      { source },
    );
  }
  const raw = createPublicKey(key).export({ format: "der", type: "spki" }).subarray(SPKI_PREFIX.length);
  return { keyid: sha256(raw), key };
}

/** The public half of a signing key. */
export function publicKeyOf(signing: SigningKey): PublicKey {
  const raw = new Uint8Array(
    createPublicKey(signing.key).export({ format: "der", type: "spki" }).subarray(SPKI_PREFIX.length),
  );
  return { keyid: signing.keyid, raw, key: createPublicKey(signing.key) };
}

/** The one-line text form `ferry-ed25519:<base64>` (public key files and root metadata). */
export function publicKeyText(key: PublicKey): string {
  return `${PUBLIC_PREFIX}${Buffer.from(key.raw).toString("base64")}`;
}

export function signBytes(key: SigningKey, data: Uint8Array): string {
  return sign(null, data, key.key).toString("base64");
}

export function verifyBytes(key: PublicKey, data: Uint8Array, signatureBase64: string): boolean {
  const signature = Buffer.from(signatureBase64, "base64");
  if (signature.length !== 64) return false;
  return verify(null, data, key.key, signature);
}
