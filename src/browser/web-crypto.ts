import * as ed from "@noble/ed25519";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import type { Crypto, Sha256Hasher } from "../ports/crypto.js";

/**
 * The Crypto port in a browser. One-shot SHA-256 is WebCrypto's (native speed, asynchronous like the
 * port). The incremental hasher must take `update` synchronously (the port's contract: streams feed it
 * as they read) and WebCrypto has no streaming digest, so it is @noble/hashes' SHA-256. Ed25519 is
 * WebCrypto's where the browser has it (Chromium 113+, Firefox 129+, Safari 17+), otherwise
 * @noble/ed25519 (RFC 8032 / ZIP-215 checks, audited, maintained).
 */
export function webCrypto(subtle: SubtleCrypto | undefined = globalThis.crypto?.subtle): Crypto {
  let nativeEd25519: Promise<boolean> | undefined;
  const hasNativeEd25519 = (): Promise<boolean> => (nativeEd25519 ??= probeEd25519(subtle));
  return {
    async sha256(data: Uint8Array): Promise<string> {
      if (!subtle) return bytesToHex(nobleSha256(data));
      return bytesToHex(new Uint8Array(await subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>)));
    },
    createSha256(): Sha256Hasher {
      const hash = nobleSha256.create();
      let length = 0;
      return {
        update(data: Uint8Array) {
          hash.update(data);
          length += data.length;
        },
        get length() {
          return length;
        },
        digest: async () => bytesToHex(hash.digest()),
      };
    },
    async verifyEd25519(publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
      if (publicKey.length !== 32 || signature.length !== 64) return false;
      if (subtle && (await hasNativeEd25519())) {
        try {
          const key = await subtle.importKey(
            "raw",
            publicKey as Uint8Array<ArrayBuffer>,
            { name: "Ed25519" },
            false,
            ["verify"],
          );
          return await subtle.verify(
            { name: "Ed25519" },
            key,
            signature as Uint8Array<ArrayBuffer>,
            data as Uint8Array<ArrayBuffer>,
          );
        } catch {
          return false; // a key WebCrypto refuses (not on the curve) verifies nothing
        }
      }
      try {
        // Strict RFC 8032 (no ZIP-215 leniency), as Node's OpenSSL verifies.
        return await ed.verifyAsync(signature, data, publicKey, { zip215: false });
      } catch {
        return false;
      }
    },
  };
}

/** Which Ed25519 path this browser takes, for docs and tests. */
export async function ed25519Backend(subtle = globalThis.crypto?.subtle): Promise<"webcrypto" | "noble"> {
  return (await probeEd25519(subtle)) ? "webcrypto" : "noble";
}

async function probeEd25519(subtle: SubtleCrypto | undefined): Promise<boolean> {
  if (!subtle) return false;
  try {
    // The base point's encoding: a valid key every implementation with Ed25519 imports.
    const point = new Uint8Array(32);
    point[0] = 0x58;
    point.fill(0x66, 1);
    await subtle.importKey("raw", point, { name: "Ed25519" }, false, ["verify"]);
    return true;
  } catch {
    return false;
  }
}
