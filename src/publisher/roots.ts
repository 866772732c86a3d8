import { FerryError } from "../core/errors.js";
import { expiryAfterDays as daysFrom } from "../core/time.js";
import { type PublicKey, publicKeyOf, type SigningKey } from "../core/keys.js";
import {
  type RootBody,
  type RootSpec,
  signRoot,
  type TrustedRoot,
  trustNextRoot,
  trustShippedRoot,
} from "../core/root.js";
import { DirectoryStore, type RepoStore } from "./repo-store.js";
import { withRepoLock, writeExpecting } from "./repo-writer.js";
import { nodeCrypto } from "../node/node-crypto.js";

/** Root versions in a repository, oldest first. Each link is checked as a client checks it. */
export async function loadRootChain(store: RepoStore): Promise<TrustedRoot[]> {
  const versions = (await store.list("root"))
    .map((path) => /^root\/([1-9]\d{0,8})\.json$/.exec(path)?.[1])
    .filter((v): v is string => v !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  const chain: TrustedRoot[] = [];
  for (const [i, version] of versions.entries()) {
    if (version !== i + 1) {
      throw new FerryError(
        "E_FORMAT",
        `The repository's root versions are not contiguous (found ${versions.join(", ")}): root/${i + 1}.json is missing. Restore it from your backup before publishing.`,
        { versions: versions.join(",") },
      );
    }
    const path = `root/${version}.json`;
    const bytes = (await store.read(path))!;
    const previous = chain.at(-1);
    chain.push(
      previous
        ? await trustNextRoot(previous.body, bytes, path, nodeCrypto)
        : await trustShippedRoot(bytes, path, nodeCrypto),
    );
  }
  return chain;
}

function storeOf(repo: string | RepoStore): RepoStore {
  return typeof repo === "string" ? new DirectoryStore(repo) : repo;
}

export const DEFAULT_ROOT_EXPIRY_DAYS = 365;

/**
 * The repository's newest root. A repository without one gets root/1.json in which the publishing
 * key(s) hold both roles (threshold 1): simple to start with; `ferry root rotate` moves to an offline
 * root key later. Returns whether it was created.
 */
export async function ensureRoot(
  store: RepoStore,
  keys: readonly SigningKey[],
  now: Date,
  expiresInDays = DEFAULT_ROOT_EXPIRY_DAYS,
): Promise<{ root: TrustedRoot; created: boolean }> {
  const newest = (await loadRootChain(store)).at(-1);
  if (newest) return { root: newest, created: false };
  const publics = keys.map(publicKeyOf);
  const spec: RootSpec = {
    version: 1,
    expires: daysFrom(now, expiresInDays),
    rootKeys: publics,
    rootThreshold: 1,
    releaseKeys: publics,
    releaseThreshold: 1,
  };
  const bytes = signRoot(spec, keys);
  await writeExpecting(store, "root/1.json", bytes, null); // create-only: two first publishes, one root
  return { root: await trustShippedRoot(bytes, "root/1.json", nodeCrypto), created: true };
}

/** Refuses to sign a pointer clients would reject: expired root, or too few authorised release keys. */
export function requireReleaseKeys(root: RootBody, keys: readonly SigningKey[], now: Date): void {
  if (!(new Date(root.expires).getTime() > now.getTime())) {
    throw new FerryError(
      "E_EXPIRED",
      `Root version ${root.version} expired at ${root.expires}; clients would refuse this release. Publish a new root first: 'ferry root rotate --repo <repo> --sign <root.key> ...'.`,
      { expires: root.expires },
    );
  }
  const authorised = new Set(keys.map((k) => k.keyid).filter((id) => root.roles.release.keyids.includes(id)));
  if (authorised.size < root.roles.release.threshold) {
    throw new FerryError(
      "E_KEY",
      `Root version ${root.version} requires ${root.roles.release.threshold} release key(s) (authorised: ${root.roles.release.keyids.map((k) => k.slice(0, 16)).join(", ")}); the key(s) given include ${authorised.size}. Pass authorised --key files, or authorise the key with 'ferry root rotate'.`,
      { threshold: root.roles.release.threshold, given: authorised.size },
    );
  }
}

export interface RootChange {
  readonly repo: string | RepoStore;
  /** Private keys that sign the new root: a threshold of the root keys (old and new when rotating). */
  readonly signers: readonly SigningKey[];
  readonly rootKeys?: readonly PublicKey[];
  readonly rootThreshold?: number;
  readonly releaseKeys?: readonly PublicKey[];
  readonly releaseThreshold?: number;
  readonly expiresInDays?: number;
  readonly now?: Date;
}

/** Writes root/1.json with explicit root and release keys (`ferry root init`). */
export async function initRoot(change: RootChange): Promise<RootBody> {
  const store = storeOf(change.repo);
  return withRepoLock(store, "root init", () => initRootLocked(store, change));
}

async function initRootLocked(store: RepoStore, change: RootChange): Promise<RootBody> {
  if ((await loadRootChain(store)).length > 0) {
    throw new FerryError(
      "E_USAGE",
      "This repository already has root metadata; change keys with 'ferry root rotate'.",
    );
  }
  if (!change.rootKeys?.length || !change.releaseKeys?.length) {
    throw new FerryError("E_USAGE", "A root needs at least one root key and one release key.");
  }
  const spec: RootSpec = {
    version: 1,
    expires: daysFrom(change.now ?? new Date(), change.expiresInDays ?? DEFAULT_ROOT_EXPIRY_DAYS),
    rootKeys: change.rootKeys,
    rootThreshold: change.rootThreshold ?? 1,
    releaseKeys: change.releaseKeys,
    releaseThreshold: change.releaseThreshold ?? 1,
  };
  const bytes = signRoot(spec, change.signers);
  const root = await trustShippedRoot(bytes, "the new root/1.json", nodeCrypto); // threshold and shape, before writing
  await writeExpecting(store, "root/1.json", bytes, null);
  return root.body;
}

/**
 * Writes root/N+1.json (`ferry root rotate`): new keys, thresholds or expiry. Checked as a client will
 * check it (a threshold of N's root keys and of its own) before it is written.
 */
export async function rotateRoot(change: RootChange): Promise<RootBody> {
  const store = storeOf(change.repo);
  return withRepoLock(store, "root rotate", () => rotateRootLocked(store, change));
}

/** rotateRoot's work, for a caller that already holds the repository (see resign.ts rotateAndResign). */
export async function rotateRootLocked(store: RepoStore, change: RootChange): Promise<RootBody> {
  const current = (await loadRootChain(store)).at(-1);
  if (!current) {
    throw new FerryError("E_USAGE", "This repository has no root metadata yet; run 'ferry root init' first.");
  }
  const old = current.body;
  const keysOf = (ids: readonly string[]) => ids.map((id) => old.keys.get(id)!);
  const spec: RootSpec = {
    version: old.version + 1,
    expires: daysFrom(change.now ?? new Date(), change.expiresInDays ?? DEFAULT_ROOT_EXPIRY_DAYS),
    rootKeys: change.rootKeys ?? keysOf(old.roles.root.keyids),
    rootThreshold: change.rootThreshold ?? old.roles.root.threshold,
    releaseKeys: change.releaseKeys ?? keysOf(old.roles.release.keyids),
    releaseThreshold: change.releaseThreshold ?? old.roles.release.threshold,
  };
  const path = `root/${spec.version}.json`;
  const bytes = signRoot(spec, change.signers);
  const next = await trustNextRoot(old, bytes, `the new ${path}`, nodeCrypto);
  // Create-only: two rotations from the same root N can never both become N+1.
  await writeExpecting(store, path, bytes, null);
  return next.body;
}
