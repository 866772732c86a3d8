import { FerryError } from "./errors.js";
import { checkFormatHeader, type JsonReader } from "./json-reader.js";
import type { Crypto } from "../ports/crypto.js";
import { type PublicKey, parsePublicKey, publicKeyText, type SigningKey } from "./keys.js";
import { TIME_PATTERN } from "./manifest.js";
import {
  type Envelope,
  KEYID_PATTERN,
  parseEnvelope,
  type Role,
  requireThreshold,
  signEnvelope,
} from "./signed.js";

/**
 * Root metadata `root/<version>.json`, docs/FORMAT.md §6: which keys hold which role. Modelled on TUF's
 * root role (spec §5.3): versioned files, a new version signed by a threshold of the previous version's
 * root keys and of its own, walked one version at a time.
 */
export interface RootBody {
  readonly version: number;
  readonly expires: string;
  readonly keys: ReadonlyMap<string, PublicKey>;
  readonly roles: { readonly root: Role; readonly release: Role };
}

export interface TrustedRoot {
  readonly body: RootBody;
  /** The document as received, kept in the install state. */
  readonly document: unknown;
}

export const MAX_ROOT_BYTES = 256 * 1024;
/** Root versions a client walks in one update; more means the shipped root is hopelessly old. */
export const MAX_ROOT_STEPS = 64;
const MAX_KEYS = 64;
const PUBLIC_KEY_PATTERN = /^ferry-ed25519:[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

function parseRole(r: JsonReader, name: string, keys: ReadonlyMap<string, PublicKey>, what: string): Role {
  const role = r.object(name);
  const keyids = role.array("keyids");
  const threshold = role.integer("threshold", 1);
  const unique = new Set(keyids);
  if (
    unique.size !== keyids.length ||
    !keyids.every((k): k is string => typeof k === "string" && keys.has(k)) ||
    threshold > keyids.length
  ) {
    throw new FerryError(
      "E_FORMAT",
      `${what}: role '${name}' must list distinct key ids present in 'keys', and a threshold from 1 to their number (has ${keyids.length} key ids, threshold ${threshold}).`,
      { document: what, role: name },
    );
  }
  return { keyids: keyids as string[], threshold };
}

/** Parses a root document without checking any signature. */
export async function parseRoot(
  bytes: Uint8Array,
  what: string,
  crypto: Crypto,
): Promise<{ envelope: Envelope; body: RootBody }> {
  const envelope = parseEnvelope(what, bytes);
  const s = envelope.signed;
  checkFormatHeader(s, "ferry-root");
  const version = s.integer("version", 1);
  const expires = s.string("expires", TIME_PATTERN);
  const keyReader = s.object("keys");
  const keyEntries = Object.entries((envelope.document as { signed: { keys: object } }).signed.keys);
  if (keyEntries.length > MAX_KEYS) {
    throw new FerryError("E_FORMAT", `${what} lists ${keyEntries.length} keys; at most ${MAX_KEYS}.`, {
      document: what,
    });
  }
  const keys = new Map<string, PublicKey>();
  for (const [keyid] of keyEntries) {
    const key = KEYID_PATTERN.test(keyid)
      ? await parsePublicKey(keyReader.string(keyid, PUBLIC_KEY_PATTERN), `${what} key ${keyid}`, crypto)
      : undefined;
    if (key?.keyid !== keyid) {
      throw new FerryError(
        "E_FORMAT",
        `${what}: key id ${keyid.slice(0, 64)} is not the SHA-256 of its key.`,
        {
          document: what,
        },
      );
    }
    keys.set(keyid, key!);
  }
  const roles = s.object("roles");
  const body: RootBody = {
    version,
    expires,
    keys,
    roles: { root: parseRole(roles, "root", keys, what), release: parseRole(roles, "release", keys, what) },
  };
  return { envelope, body };
}

const ROTATE_ADVICE =
  "Only the publisher's root keys can authorise new keys; this repository, a mirror or a cache may be tampered with.";

/** The root a fresh install starts from: a root file it was shipped with, checked against itself. */
export async function trustShippedRoot(
  bytes: Uint8Array,
  source: string,
  crypto: Crypto,
): Promise<TrustedRoot> {
  const { envelope, body } = await parseRoot(bytes, source, crypto);
  await requireThreshold(
    crypto,
    envelope,
    body.keys,
    body.roles.root,
    source,
    "The trusted root file is damaged.",
  );
  return { body, document: envelope.document };
}

/** Root version 1 checked against root keys the caller trusts (e.g. `--trust root.pub`). */
export async function trustFirstRoot(
  bytes: Uint8Array,
  anchor: { readonly keys: readonly PublicKey[]; readonly threshold: number },
  url: string,
  crypto: Crypto,
): Promise<TrustedRoot> {
  const { envelope, body } = await parseRoot(bytes, `root metadata ${url}`, crypto);
  if (body.version !== 1) {
    throw new FerryError("E_FORMAT", `${url} says it is root version ${body.version}, not 1.`, { url });
  }
  const anchorKeys = new Map(anchor.keys.map((k) => [k.keyid, k]));
  await requireThreshold(
    crypto,
    envelope,
    anchorKeys,
    { keyids: [...anchorKeys.keys()], threshold: anchor.threshold },
    `root metadata ${url} (against the trusted keys)`,
    "It is not signed by the key(s) passed with --trust: the repository is not the publisher's, or --trust names the wrong key.",
  );
  await requireThreshold(crypto, envelope, body.keys, body.roles.root, `root metadata ${url}`, ROTATE_ADVICE);
  return { body, document: envelope.document };
}

/** TUF §5.3.4: version N+1 must be signed by a threshold of version N's root keys and of its own. */
export async function trustNextRoot(
  current: RootBody,
  bytes: Uint8Array,
  url: string,
  crypto: Crypto,
): Promise<TrustedRoot> {
  const { envelope, body } = await parseRoot(bytes, `root metadata ${url}`, crypto);
  if (body.version !== current.version + 1) {
    throw new FerryError(
      body.version <= current.version ? "E_ROLLBACK" : "E_FORMAT",
      `${url} should be root version ${current.version + 1} but says ${body.version}. The repository or a cache serves the wrong file.`,
      { url, expected: current.version + 1, actual: body.version },
    );
  }
  await requireThreshold(
    crypto,
    envelope,
    current.keys,
    current.roles.root,
    `root metadata ${url} (against root version ${current.version})`,
    ROTATE_ADVICE,
  );
  await requireThreshold(crypto, envelope, body.keys, body.roles.root, `root metadata ${url}`, ROTATE_ADVICE);
  return { body, document: envelope.document };
}

/** A root may be used only before its expiry (checked against the update's fixed start time). */
export function checkRootExpiry(body: RootBody, now: Date, where: string): void {
  if (new Date(body.expires).getTime() > now.getTime()) return;
  throw new FerryError(
    "E_EXPIRED",
    `Root metadata version ${body.version} (${where}) expired at ${body.expires} (local time is ${now.toISOString()}). The publisher must publish a new root version ('ferry root rotate'); if the expiry looks wrong, check this machine's clock.`,
    { url: where, expires: body.expires, now: now.toISOString() },
  );
}

export interface RootSpec {
  readonly version: number;
  readonly expires: string;
  readonly rootKeys: readonly PublicKey[];
  readonly rootThreshold: number;
  readonly releaseKeys: readonly PublicKey[];
  readonly releaseThreshold: number;
}

export function rootSigned(spec: RootSpec): Record<string, unknown> {
  const keys: Record<string, string> = {};
  for (const k of [...spec.rootKeys, ...spec.releaseKeys]) keys[k.keyid] = publicKeyText(k);
  const role = (list: readonly PublicKey[], threshold: number) => ({
    keyids: [...new Set(list.map((k) => k.keyid))].sort(),
    threshold,
  });
  return {
    format: 1,
    type: "ferry-root",
    version: spec.version,
    expires: spec.expires,
    keys,
    roles: {
      root: role(spec.rootKeys, spec.rootThreshold),
      release: role(spec.releaseKeys, spec.releaseThreshold),
    },
  };
}

export function signRoot(spec: RootSpec, signers: readonly SigningKey[]): Uint8Array {
  return signEnvelope(rootSigned(spec), signers);
}
