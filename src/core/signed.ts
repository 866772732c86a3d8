import type { Crypto } from "../ports/crypto.js";
import { canonicalBytes } from "./canonical-json.js";
import { FerryError } from "./errors.js";
import { JsonReader, parseJson } from "./json-reader.js";
import { type PublicKey, type SigningKey, signBytes, verifyBytes } from "./keys.js";

/**
 * The signed-metadata envelope shared by roots and channel pointers, docs/FORMAT.md §6:
 * `{ "signed": {...}, "signatures": [{ "keyid", "sig" }] }`. Signatures cover the canonical JSON bytes of
 * `signed`, so whitespace and key order in the file do not matter.
 */
export interface Envelope {
  /** The document as received. */
  readonly document: unknown;
  readonly signed: JsonReader;
  readonly payload: Uint8Array;
  readonly signatures: readonly { readonly keyid: string; readonly sig: string }[];
}

/** A role: which keys may sign, and how many distinct ones must. */
export interface Role {
  readonly keyids: readonly string[];
  readonly threshold: number;
}

export const KEYID_PATTERN = /^[0-9a-f]{64}$/;
/** Loose on purpose: a wrong-length signature is an invalid signature (E_SIGNATURE), not a format error. */
const SIG_PATTERN = /^[A-Za-z0-9+/=]{0,512}$/;
/** More signatures than any sane key set; bounds the verification work a hostile file can cause. */
export const MAX_SIGNATURES = 32;

export function parseEnvelope(what: string, bytes: Uint8Array): Envelope {
  const document = parseJson(what, bytes);
  const r = new JsonReader(what, document);
  const signed = r.object("signed");
  const list = r.objects("signatures");
  if (list.length > MAX_SIGNATURES) {
    throw new FerryError(
      "E_FORMAT",
      `${what} carries ${list.length} signatures; at most ${MAX_SIGNATURES}.`,
      {
        document: what,
      },
    );
  }
  const signatures = list.map((s) => ({
    keyid: s.string("keyid", KEYID_PATTERN),
    sig: s.string("sig", SIG_PATTERN),
  }));
  return { document, signed, payload: canonicalBytes((document as { signed: unknown }).signed), signatures };
}

/** Serializes `signed` with one signature per key, sorted by key id (deterministic output). */
export function signEnvelope(signed: Record<string, unknown>, keys: readonly SigningKey[]): Uint8Array {
  const payload = canonicalBytes(signed);
  const unique = [...new Map(keys.map((k) => [k.keyid, k])).values()].sort((a, b) =>
    a.keyid < b.keyid ? -1 : 1,
  );
  const signatures = unique.map((k) => ({ keyid: k.keyid, sig: signBytes(k, payload) }));
  return new TextEncoder().encode(JSON.stringify({ signed, signatures }, null, 2) + "\n");
}

/**
 * The distinct key ids of `role` that validly signed the envelope. A key counts once however often it
 * signs; signatures by keys outside the role, or that fail to verify, count for nothing.
 */
export async function validSigners(
  crypto: Crypto,
  envelope: Envelope,
  keys: ReadonlyMap<string, PublicKey>,
  role: Role,
): Promise<Set<string>> {
  const signers = new Set<string>();
  for (const { keyid, sig } of envelope.signatures) {
    if (signers.has(keyid) || !role.keyids.includes(keyid)) continue;
    const key = keys.get(keyid);
    if (key !== undefined && (await verifyBytes(crypto, key, envelope.payload, sig))) signers.add(keyid);
  }
  return signers;
}

/** Throws E_SIGNATURE unless `threshold` distinct keys of the role signed. */
export async function requireThreshold(
  crypto: Crypto,
  envelope: Envelope,
  keys: ReadonlyMap<string, PublicKey>,
  role: Role,
  what: string,
  advice: string,
): Promise<void> {
  const signers = await validSigners(crypto, envelope, keys, role);
  if (signers.size < role.threshold) {
    throw new FerryError(
      "E_SIGNATURE",
      `${what} has ${signers.size} valid signature(s) from the ${role.keyids.length} authorised key(s); ${role.threshold} required. ${advice}`,
      { document: what, valid: signers.size, threshold: role.threshold },
    );
  }
}
