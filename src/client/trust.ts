import { canonicalBytes } from "../core/canonical-json.js";
import { FerryError } from "../core/errors.js";
import type { PublicKey } from "../core/keys.js";
import { parsePointer, type SignedPointer, verifyPointer } from "../core/pointer.js";
import {
  checkRootExpiry,
  MAX_ROOT_STEPS,
  type TrustedRoot,
  trustFirstRoot,
  trustNextRoot,
  trustShippedRoot,
} from "../core/root.js";

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
}

/** The key ids to remember as the install's first trust (see StoredTrust). */
export function anchorKeyids(anchor: TrustAnchor, root: TrustedRoot): string[] {
  return anchor.kind === "keys" ? anchor.keys.map((k) => k.keyid) : [...root.body.roles.root.keyids];
}

/**
 * The root an installed release trusts, given what the caller trusts now (no network): the stored root,
 * or a shipped root file when it is newer. Keys named by the caller must be ones this install knows.
 */
export function installedRoot(anchor: TrustAnchor, stored: StoredTrust): TrustedRoot {
  // Signatures cover `signed`, so re-encoding the stored document is exact.
  const storedRoot = trustShippedRoot(canonicalBytes(stored.root), "the install's stored root");
  if (anchor.kind === "root") {
    const shipped = trustShippedRoot(anchor.bytes, anchor.source);
    return storedRoot.body.version >= shipped.body.version ? storedRoot : shipped;
  }
  {
    const known = anchor.keys.filter(
      (k) => stored.trustedKeys.includes(k.keyid) || storedRoot.body.roles.root.keyids.includes(k.keyid),
    );
    if (known.length < anchor.threshold) {
      throw new FerryError(
        "E_KEY",
        `--trust names key(s) ${anchor.keys.map((k) => k.keyid.slice(0, 16)).join(", ")}, but this install trusts root version ${storedRoot.body.version} (root keys ${storedRoot.body.roles.root.keyids.map((k) => k.slice(0, 16)).join(", ")}; installed with ${stored.trustedKeys.map((k) => k.slice(0, 16)).join(", ")}). Pass the key the game was installed with, or its current root key.`,
        { trusted: stored.trustedKeys.join(",") },
      );
    }
    return storedRoot;
  }
}

async function startingRoot(
  repo: PointerSource,
  anchor: TrustAnchor,
  stored: StoredTrust | undefined,
  signal: AbortSignal | undefined,
): Promise<TrustedRoot> {
  if (stored) return installedRoot(anchor, stored);
  if (anchor.kind === "root") return trustShippedRoot(anchor.bytes, anchor.source);
  if (anchor.keys.length === 0 || anchor.threshold < 1 || anchor.threshold > anchor.keys.length) {
    throw new FerryError(
      "E_USAGE",
      `Trust needs at least one root key and a threshold from 1 to their number (got ${anchor.keys.length} keys, threshold ${anchor.threshold}).`,
    );
  }
  return trustFirstRoot(await repo.rootBytes(1, signal), anchor, repo.url("root/1.json"));
}

/**
 * Fetches the channel pointer and verifies it against the newest root it needs, walking root versions
 * one at a time (TUF §5.3: each signed by a threshold of the previous and of its own root keys). Costs one
 * request when no keys were rotated. The returned root is what the install should store.
 */
export async function fetchVerifiedPointer(
  repo: PointerSource,
  channel: string,
  anchor: TrustAnchor,
  stored: StoredTrust | undefined,
  started: Date,
  signal: AbortSignal | undefined,
): Promise<{ pointer: SignedPointer; root: TrustedRoot; releaseKeysRotated: boolean }> {
  const url = repo.url(`channels/${channel}.json`);
  const unverified = parsePointer(await repo.pointerBytes(channel, signal), url);
  const start = await startingRoot(repo, anchor, stored, signal);
  let root = start;
  const target = unverified.claimedRoot;
  if (target - root.body.version > MAX_ROOT_STEPS) {
    throw new FerryError(
      "E_FORMAT",
      `${url} is signed under root version ${target}, ${target - root.body.version} versions past the trusted root ${root.body.version}; Ferry walks at most ${MAX_ROOT_STEPS} per update. Ship a newer root with the game.`,
      { url, target, trusted: root.body.version },
    );
  }
  while (root.body.version < target) {
    const next = root.body.version + 1;
    root = trustNextRoot(root.body, await repo.rootBytes(next, signal), repo.url(`root/${next}.json`));
  }
  checkRootExpiry(root.body, started, repo.url(`root/${root.body.version}.json`));
  const pointer = verifyPointer(unverified, root.body);
  if (pointer.body.channel !== channel) {
    throw new FerryError(
      "E_SIGNATURE",
      `${url} is signed for channel '${pointer.body.channel}', not '${channel}': a pointer was swapped.`,
      { url },
    );
  }
  // TUF §5.3.11: after the release keys change, what the old keys signed no longer sets the rollback
  // floor, so a publisher can recover from a fast-forward attack (a stolen key signing serial 2^50).
  const releaseKeysRotated =
    [...start.body.roles.release.keyids].sort().join() !== [...root.body.roles.release.keyids].sort().join();
  return { pointer, root, releaseKeysRotated };
}
