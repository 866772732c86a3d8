import { base64DecodeLoose, base64Encode } from "../core/base64.js";
import { FerryError } from "../core/errors.js";
import { parsePublicKey, publicKeyText } from "../core/keys.js";
import type { TrustAnchor } from "../client/remote/trust.js";
import type { Crypto } from "../ports/crypto.js";

/**
 * A trust anchor as JSON, to hand it from `ferry web-demo` (or a game's build) to the page and to keep
 * it for the service worker: root keys as their `ferry-ed25519:...` text, a root file as base64.
 */
export type TrustJson =
  | { readonly kind: "keys"; readonly keys: readonly string[]; readonly threshold: number }
  | { readonly kind: "root"; readonly root: string; readonly source: string };

export function trustToJson(anchor: TrustAnchor): TrustJson {
  return anchor.kind === "keys"
    ? { kind: "keys", keys: anchor.keys.map(publicKeyText), threshold: anchor.threshold }
    : { kind: "root", root: base64Encode(anchor.bytes), source: anchor.source };
}

export async function trustFromJson(json: unknown, crypto: Crypto): Promise<TrustAnchor> {
  const t = json as Partial<{
    kind: string;
    keys: unknown;
    threshold: unknown;
    root: unknown;
    source: unknown;
  }>;
  if (t?.kind === "keys" && Array.isArray(t.keys) && typeof t.threshold === "number") {
    const keys = await Promise.all(
      t.keys.map((k, i) => parsePublicKey(String(k), `trust key ${i + 1}`, crypto)),
    );
    return { kind: "keys", keys, threshold: t.threshold };
  }
  if (t?.kind === "root" && typeof t.root === "string") {
    return { kind: "root", bytes: base64DecodeLoose(t.root), source: String(t.source ?? "the shipped root") };
  }
  throw new FerryError(
    "E_USAGE",
    'The runtime\'s trust must be {kind:"keys", keys:["ferry-ed25519:..."], threshold} or {kind:"root", root:<base64 of root.json>, source}.',
  );
}
