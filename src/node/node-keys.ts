import { createPrivateKey, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { base64Encode } from "../core/base64.js";
import { FerryError } from "../core/errors.js";
import { PUBLIC_PREFIX, type PublicKey, publicKeyRaw, type SigningKey } from "../core/keys.js";
import { ed25519Raw, sha256 } from "./node-crypto.js";

/** Ed25519 key files on node:crypto (docs/FORMAT.md §6): the publisher's and the CLI's side of keys. */
export function generateKeyPair(): { privatePem: string; publicText: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return {
    privatePem: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    publicText: `${PUBLIC_PREFIX}${base64Encode(ed25519Raw(publicKey))}\n`,
  };
}

/** The core's parsePublicKey with the key id hashed synchronously (Node-side callers). */
export function parsePublicKey(text: string, source: string): PublicKey {
  const raw = publicKeyRaw(text, source);
  return { keyid: sha256(raw), raw };
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
  const publicRaw = ed25519Raw(key);
  // The KeyObject stays in this closure: the data model carries raw bytes only.
  return { keyid: sha256(publicRaw), publicRaw, sign: (data) => new Uint8Array(sign(null, data, key)) };
}
