import type { Crypto } from "../ports/crypto.js";
import { base64DecodeLoose, base64Encode } from "./base64.js";
import { FerryError } from "./errors.js";

/**
 * Ed25519 keys, docs/FORMAT.md §6. The data model holds raw bytes only: making a platform key object
 * (Node's KeyObject, a WebCrypto CryptoKey) is the crypto port's business.
 */
export interface PublicKey {
  /** SHA-256 (hex) of `raw`. */
  readonly keyid: string;
  /** The 32-byte Ed25519 public key. */
  readonly raw: Uint8Array;
}

/** A private key the publisher signs with (made by the Node adapter, src/node/node-keys.ts). */
export interface SigningKey {
  readonly keyid: string;
  /** The raw public half. */
  readonly publicRaw: Uint8Array;
  /** The 64-byte Ed25519 signature of `data`. */
  sign(data: Uint8Array): Uint8Array;
}

export const PUBLIC_PREFIX = "ferry-ed25519:";

/** The raw 32 bytes of a `ferry-ed25519:<base64>` text; E_KEY unless it is exactly that, canonically. */
export function publicKeyRaw(text: string, source: string): Uint8Array {
  const trimmed = text.trim();
  const body = trimmed.slice(PUBLIC_PREFIX.length);
  const raw = trimmed.startsWith(PUBLIC_PREFIX) ? base64DecodeLoose(body) : undefined;
  // Only the exact canonical encoding of 32 bytes is a key (the decoder itself is lenient).
  if (raw?.length !== 32 || base64Encode(raw) !== body) {
    throw new FerryError(
      "E_KEY",
      `${source} is not a Ferry public key (expected one line "ferry-ed25519:<base64>"). Pass the ferry.pub written by 'ferry keygen'.`,
      { source },
    );
  }
  return raw;
}

export async function parsePublicKey(text: string, source: string, crypto: Crypto): Promise<PublicKey> {
  const raw = publicKeyRaw(text, source);
  return { keyid: await crypto.sha256(raw), raw };
}

/** The public half of a signing key. */
export function publicKeyOf(signing: SigningKey): PublicKey {
  return { keyid: signing.keyid, raw: new Uint8Array(signing.publicRaw) };
}

/** The one-line text form `ferry-ed25519:<base64>` (public key files and root metadata). */
export function publicKeyText(key: PublicKey): string {
  return `${PUBLIC_PREFIX}${base64Encode(key.raw)}`;
}

export function signBytes(key: SigningKey, data: Uint8Array): string {
  return base64Encode(key.sign(data));
}

export async function verifyBytes(
  crypto: Crypto,
  key: PublicKey,
  data: Uint8Array,
  signatureBase64: string,
): Promise<boolean> {
  const signature = base64DecodeLoose(signatureBase64);
  if (signature.length !== 64) return false;
  return crypto.verifyEd25519(key.raw, data, signature);
}
