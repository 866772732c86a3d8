import type { Crypto } from "../../ports/crypto.js";
import { equalBytes } from "../../core/bytes.js";
import { canonicalBytes } from "../../core/canonical-json.js";
import { FerryError } from "../../core/errors.js";
import type { PublicKey } from "../../core/keys.js";
import { type TrustedRoot, trustNextRoot, trustShippedRoot } from "../../core/root.js";

/** Where a pointer and root files come from: one mirror of the repository (see mirrors.ts). */
export interface PointerSource {
  url(path: string): string;
  pointerBytes(channel: string, signal?: AbortSignal): Promise<Uint8Array>;
  rootBytes(version: number, signal?: AbortSignal): Promise<Uint8Array>;
}

/**
 * What a fresh install trusts, docs/FORMAT.md §6: root keys (root/1.json must carry `threshold` of their
 * signatures), or a root file shipped with the game. Once installed, the root the install verified and
 * stored supersedes a key anchor (keys may have been rotated since); a shipped root file is used when it
 * is newer than the stored one.
 */
export type TrustAnchor =
  | { readonly kind: "keys"; readonly keys: readonly PublicKey[]; readonly threshold: number }
  | { readonly kind: "root"; readonly bytes: Uint8Array; readonly source: string };

/** A plain key list means: trust root/1.json signed by any one of these keys. */
export type TrustOption = readonly PublicKey[] | TrustAnchor;

export function toAnchor(trust: TrustOption): TrustAnchor {
  return "kind" in trust ? trust : { kind: "keys", keys: trust, threshold: 1 };
}

/** What an installed release remembers about trust (docs/FORMAT.md §7). */
export interface StoredTrust {
  readonly root: unknown;
  readonly trustedKeys: readonly string[];
  /** The signed pointer of the installed release, as verified when it was installed. */
  readonly pointer?: unknown;
}

/** The key ids to remember as the install's first trust (see StoredTrust). */
export function anchorKeyids(anchor: TrustAnchor, root: TrustedRoot): string[] {
  return anchor.kind === "keys" ? anchor.keys.map((k) => k.keyid) : [...root.body.roles.root.keyids];
}

/** Root documents are equal when their signed parts are (signatures may be added or reordered). */
export function sameRoot(a: TrustedRoot, b: TrustedRoot): boolean {
  const signed = (r: TrustedRoot) => canonicalBytes((r.document as { signed: unknown }).signed);
  return equalBytes(signed(a), signed(b));
}

function foreignRoot(source: string, stored: TrustedRoot, why: string): FerryError {
  return new FerryError(
    "E_KEY",
    `--trust ${source} does not chain from the root this install trusts (version ${stored.body.version}): ${why}. It may be another publisher's root. Pass the root or key the game was installed with.`,
    { source, trusted: stored.body.version },
  );
}

/**
 * Where an installed release's trust starts (no network): the stored root, or a shipped root file that
 * chains from it. `waypoint` is a shipped root more than one version ahead: the update's root walk must
 * pass through it unchanged (pointer-sources.ts), since its chain cannot be checked offline.
 */
export async function installedTrust(
  anchor: TrustAnchor,
  stored: StoredTrust,
  crypto: Crypto,
): Promise<{ root: TrustedRoot; waypoint?: TrustedRoot }> {
  // Signatures cover `signed`, so re-encoding the stored document is exact.
  const storedRoot = await trustShippedRoot(canonicalBytes(stored.root), "the install's stored root", crypto);
  const known = (keyids: readonly string[]) =>
    keyids.filter((k) => stored.trustedKeys.includes(k) || storedRoot.body.roles.root.keyids.includes(k));
  if (anchor.kind === "root") {
    const shipped = await trustShippedRoot(anchor.bytes, anchor.source, crypto);
    const [have, want] = [storedRoot.body.version, shipped.body.version];
    if (want === have + 1) {
      try {
        return { root: await trustNextRoot(storedRoot.body, anchor.bytes, anchor.source, crypto) };
      } catch (cause) {
        throw foreignRoot(anchor.source, storedRoot, (cause as Error).message);
      }
    }
    if (want > have) return { root: storedRoot, waypoint: shipped };
    if (want === have && !sameRoot(shipped, storedRoot)) {
      throw foreignRoot(anchor.source, storedRoot, `it is another root version ${want}`);
    }
    // An older root: its root keys must be ones this install knows, as for a --trust key.
    if (known(shipped.body.roles.root.keyids).length < shipped.body.roles.root.threshold) {
      throw foreignRoot(
        anchor.source,
        storedRoot,
        `its root keys are not ones this install was trusted with`,
      );
    }
    return { root: storedRoot };
  }
  if (known(anchor.keys.map((k) => k.keyid)).length < anchor.threshold) {
    throw new FerryError(
      "E_KEY",
      `--trust names key(s) ${anchor.keys.map((k) => k.keyid.slice(0, 16)).join(", ")}, but this install trusts root version ${storedRoot.body.version} (root keys ${storedRoot.body.roles.root.keyids.map((k) => k.slice(0, 16)).join(", ")}; installed with ${stored.trustedKeys.map((k) => k.slice(0, 16)).join(", ")}). Pass the key the game was installed with, or its current root key.`,
      { trusted: stored.trustedKeys.join(",") },
    );
  }
  return { root: storedRoot };
}

/**
 * The root an installed release trusts, given what the caller trusts now (no network): the stored root,
 * or a shipped root file that chains from it (E_KEY otherwise). A shipped root several versions ahead
 * is checked by the next update's root walk; until then the stored root is used.
 */
export async function installedRoot(
  anchor: TrustAnchor,
  stored: StoredTrust,
  crypto: Crypto,
): Promise<TrustedRoot> {
  return (await installedTrust(anchor, stored, crypto)).root;
}

/** Checks a key anchor's shape before it is used for a fresh install. */
export function checkKeyAnchor(anchor: TrustAnchor & { kind: "keys" }): void {
  if (anchor.keys.length === 0 || anchor.threshold < 1 || anchor.threshold > anchor.keys.length) {
    throw new FerryError(
      "E_USAGE",
      `Trust needs at least one root key and a threshold from 1 to their number (got ${anchor.keys.length} keys, threshold ${anchor.threshold}).`,
    );
  }
}
