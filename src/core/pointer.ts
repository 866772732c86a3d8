import { canonicalBytes } from "./canonical-json.js";
import { FerryError } from "./errors.js";
import { checkFormatHeader, JsonReader, parseJson } from "./json-reader.js";
import { type PublicKey, type SigningKey, signBytes, verifyBytes } from "./keys.js";
import { TIME_PATTERN, VERSION_PATTERN } from "./manifest.js";

/** Signed channel pointer, docs/FORMAT.md §6. */
export interface ManifestRef {
  readonly hash: string;
  readonly size: number;
  readonly codec: "br";
  readonly rawSize: number;
}

export interface PointerBody {
  readonly channel: string;
  readonly version: string;
  readonly serial: number;
  readonly published: string;
  readonly expires: string;
  readonly manifest: ManifestRef;
}

export interface SignedPointer {
  readonly body: PointerBody;
  /** The document as received (kept in the install state for later re-verification). */
  readonly document: unknown;
}

export const CHANNEL_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const MAX_POINTER_BYTES = 64 * 1024;

function signedJson(body: PointerBody): Record<string, unknown> {
  return { format: 1, type: "ferry-channel", ...body };
}

export function signPointer(body: PointerBody, key: SigningKey): Uint8Array {
  const signed = signedJson(body);
  const document = {
    signed,
    signatures: [{ keyid: key.keyid, sig: signBytes(key, canonicalBytes(signed)) }],
  };
  return new TextEncoder().encode(JSON.stringify(document, null, 2) + "\n");
}

/**
 * Parses a pointer and checks that a trusted key signed it. Expiry and rollback are policy checks done
 * by the caller against the update's start time and the installed state (see checkFreshness).
 */
export function verifyPointer(bytes: Uint8Array, trusted: readonly PublicKey[], url: string): SignedPointer {
  const document = parseJson(`channel pointer ${url}`, bytes);
  const r = new JsonReader(`channel pointer ${url}`, document);
  const signedReader = r.object("signed");
  const signed = (document as { signed: unknown }).signed;
  const payload = canonicalBytes(signed);
  const signatures = r.objects("signatures");
  const valid = signatures.some((s) => {
    const keyid = s.string("keyid");
    const sig = s.string("sig");
    const key = trusted.find((k) => k.keyid === keyid);
    return key !== undefined && verifyBytes(key, payload, sig);
  });
  if (!valid) {
    throw new FerryError(
      "E_SIGNATURE",
      `The channel pointer ${url} is not signed by a trusted key (trusted: ${trusted.map((k) => k.keyid.slice(0, 16)).join(", ")}). Someone may have tampered with it, or --trust names the wrong key.`,
      { url, trusted: trusted.map((k) => k.keyid).join(",") },
    );
  }
  checkFormatHeader(signedReader, "ferry-channel");
  const m = signedReader.object("manifest");
  const body: PointerBody = {
    channel: signedReader.string("channel", CHANNEL_PATTERN),
    version: signedReader.string("version", VERSION_PATTERN),
    serial: signedReader.integer("serial", 1),
    published: signedReader.string("published", TIME_PATTERN),
    expires: signedReader.string("expires", TIME_PATTERN),
    manifest: {
      hash: m.string("hash", /^[0-9a-f]{64}$/),
      size: m.integer("size", 1),
      codec: m.string("codec", /^br$/) as "br",
      rawSize: m.integer("rawSize", 1),
    },
  };
  return { body, document };
}

export interface InstalledPosition {
  readonly serial: number;
  readonly manifestHash: string;
}

/** Expiry (against the update's fixed start time) and rollback checks, FORMAT.md §6. */
export function checkFreshness(
  body: PointerBody,
  now: Date,
  installed: InstalledPosition | undefined,
  url: string,
): void {
  const expires = new Date(body.expires);
  if (!(expires.getTime() > now.getTime())) {
    throw new FerryError(
      "E_EXPIRED",
      `The channel pointer ${url} expired at ${body.expires} (local time is ${now.toISOString()}). The publisher must re-publish or re-sign the channel; if the expiry looks wrong, check this machine's clock.`,
      { url, expires: body.expires, now: now.toISOString() },
    );
  }
  if (!installed) return;
  const conflict = body.serial === installed.serial && body.manifest.hash !== installed.manifestHash;
  if (body.serial < installed.serial || conflict) {
    throw new FerryError(
      "E_ROLLBACK",
      `The channel pointer ${url} has serial ${body.serial}, but this install has already seen serial ${installed.serial}${conflict ? " naming another release" : ""}. This looks like a replayed or stale pointer (a mirror or cache serving old data); the install was not changed.`,
      { url, serial: body.serial, installedSerial: installed.serial },
    );
  }
}
