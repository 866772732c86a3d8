import type { Crypto } from "../ports/crypto.js";
import { CHANNEL_PATTERN, RUNTIME_PATTERN } from "./names.js";
import { FerryError } from "./errors.js";
import { checkFormatHeader, type JsonReader } from "./json-reader.js";
import type { SigningKey } from "./keys.js";
import { TIME_PATTERN, VERSION_PATTERN } from "./manifest.js";
import type { RootBody } from "./root.js";
import { type Envelope, parseEnvelope, requireThreshold, signEnvelope } from "./signed.js";
import { compareVersions } from "./version.js";

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
  /** The root version whose release keys sign this pointer; a client walks its roots up to it. */
  readonly root: number;
  readonly published: string;
  readonly expires: string;
  readonly manifest: ManifestRef;
  /**
   * Optional: the runtime (app/engine build) the release needs (docs/PACKAGES.md "Runtime gate"). In the
   * pointer so a client decides before downloading the manifest; the manifest repeats it.
   */
  readonly runtime?: string;
  /** Release policy (docs/ROLLBACK.md); optional, absent in pointers written before it existed. */
  readonly mandatory?: boolean;
  /** Installs below this version must update before playing. */
  readonly minVersion?: string;
  /** Staged rollout: only installs whose bucket is below `basisPoints` take this release. */
  readonly rollout?: Rollout;
  /** The release this pointer withdrew (`ferry rollout halt`): installs on it may go back. */
  readonly halted?: ReleaseRef;
}

/** A release named by version and manifest. */
export interface ReleaseRef {
  readonly version: string;
  readonly manifest: ManifestRef;
}

export interface Rollout {
  /** Share of installs that take the release, in units of 0.01 % (0..10000). */
  readonly basisPoints: number;
  /** The release installs outside the rollout stay on (or install). */
  readonly fallback: ReleaseRef;
}

export { CHANNEL_PATTERN, RUNTIME_PATTERN };

export interface SignedPointer {
  readonly body: PointerBody;
  /** The document as received (kept in the install state for later re-verification). */
  readonly document: unknown;
}

/** A pointer parsed but not yet verified: only `claimedRoot` may be used, to find the root to verify with. */
export interface UnverifiedPointer {
  readonly envelope: Envelope;
  readonly claimedRoot: number;
  readonly url: string;
}

export const MAX_POINTER_BYTES = 64 * 1024;

export function signPointer(body: PointerBody, keys: readonly SigningKey[]): Uint8Array {
  return signEnvelope({ format: 1, type: "ferry-channel", ...body }, keys);
}

export function parsePointer(bytes: Uint8Array, url: string): UnverifiedPointer {
  const envelope = parseEnvelope(`channel pointer ${url}`, bytes);
  return { envelope, claimedRoot: envelope.signed.integer("root", 1), url };
}

/**
 * Checks that a threshold of the root's release keys signed the pointer, then reads its fields (nothing
 * but `root` is interpreted before the signature is checked). Expiry and rollback are policy checks done
 * by the caller against the update's start time and the installed state (checkFreshness).
 */
export async function verifyPointer(
  pointer: UnverifiedPointer,
  root: RootBody,
  crypto: Crypto,
): Promise<SignedPointer> {
  await requireThreshold(
    crypto,
    pointer.envelope,
    root.keys,
    root.roles.release,
    `The channel pointer ${pointer.url} (checked with root version ${root.version})`,
    "Someone may have tampered with it, or it was signed with a key the publisher's root does not authorise.",
  );
  const s = pointer.envelope.signed;
  checkFormatHeader(s, "ferry-channel");
  const m = s.object("manifest");
  const body: PointerBody = {
    channel: s.string("channel", CHANNEL_PATTERN),
    version: s.string("version", VERSION_PATTERN),
    serial: s.integer("serial", 1),
    root: s.integer("root", 1),
    published: s.string("published", TIME_PATTERN),
    expires: s.string("expires", TIME_PATTERN),
    manifest: {
      hash: m.string("hash", /^[0-9a-f]{64}$/),
      size: m.integer("size", 1),
      codec: m.string("codec", /^br$/) as "br",
      rawSize: m.integer("rawSize", 1),
    },
    ...(s.has("runtime") ? { runtime: s.string("runtime", RUNTIME_PATTERN) } : {}),
    ...readPolicy(s),
  };
  return { body, document: pointer.envelope.document };
}

function readManifestRef(m: JsonReader): ManifestRef {
  return {
    hash: m.string("hash", /^[0-9a-f]{64}$/),
    size: m.integer("size", 1),
    codec: m.string("codec", /^br$/) as "br",
    rawSize: m.integer("rawSize", 1),
  };
}

function readRelease(r: JsonReader): ReleaseRef {
  return { version: r.string("version", VERSION_PATTERN), manifest: readManifestRef(r.object("manifest")) };
}

/** The optional policy fields (signed like the rest; ignored as a whole when absent). */
function readPolicy(s: JsonReader): Partial<PointerBody> {
  const out: { -readonly [K in keyof PointerBody]?: PointerBody[K] } = {};
  if (s.has("mandatory")) out.mandatory = s.boolean("mandatory");
  if (s.has("minVersion")) out.minVersion = s.string("minVersion", VERSION_PATTERN);
  const rollout = s.optionalObject("rollout");
  if (rollout) {
    const basisPoints = rollout.integer("basisPoints");
    if (basisPoints > 10000) {
      throw new FerryError(
        "E_FORMAT",
        `${s.document} is malformed: rollout.basisPoints should be at most 10000 (100 %).`,
        { document: s.document, field: "rollout.basisPoints" },
      );
    }
    out.rollout = { basisPoints, fallback: readRelease(rollout.object("fallback")) };
  }
  const halted = s.optionalObject("halted");
  if (halted) out.halted = readRelease(halted);
  return out;
}

export interface InstalledPosition {
  readonly serial: number;
  readonly manifestHash: string;
  readonly version: string;
}

/**
 * Expiry (against the update's fixed start time) and rollback checks, FORMAT.md §6. `allowDowngrade`
 * comes from the caller only (never from anything read from the repository).
 */
export function checkFreshness(
  body: PointerBody,
  now: Date,
  installed: InstalledPosition | undefined,
  url: string,
  allowDowngrade = false,
): void {
  const expires = new Date(body.expires);
  if (!(expires.getTime() > now.getTime())) {
    throw new FerryError(
      "E_EXPIRED",
      `The channel pointer ${url} expired at ${body.expires} (local time is ${now.toISOString()}). The publisher must re-publish or re-sign the channel ('ferry resign'); if the expiry looks wrong, check this machine's clock.`,
      { url, expires: body.expires, now: now.toISOString() },
    );
  }
  if (!installed || allowDowngrade) return;
  const conflict = body.serial === installed.serial && body.manifest.hash !== installed.manifestHash;
  if (body.serial < installed.serial || conflict) {
    throw new FerryError(
      "E_ROLLBACK",
      `The channel pointer ${url} has serial ${body.serial}, but this install has already seen serial ${installed.serial}${conflict ? " naming another release" : ""}. This looks like a replayed or stale pointer (a mirror or cache serving old data); the install was not changed.`,
      { url, serial: body.serial, installedSerial: installed.serial },
    );
  }
  if (compareVersions(body.version, installed.version) < 0) {
    throw new FerryError(
      "E_ROLLBACK",
      `The channel pointer ${url} names version ${body.version}, older than the installed ${installed.version}. Ferry does not downgrade unless the caller asks for it (--allow-downgrade); the install was not changed.`,
      { url, version: body.version, installedVersion: installed.version },
    );
  }
}
