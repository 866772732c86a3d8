import { checkChannelName } from "../core/names.js";
import { FerryError } from "../core/errors.js";
import type { RootBody } from "../core/root.js";
import { expiryAfterDays } from "../core/time.js";
import type { SigningKey } from "../core/keys.js";
import {
  CHANNEL_PATTERN,
  parsePointer,
  type PointerBody,
  signPointer,
  verifyPointer,
} from "../core/pointer.js";
import { DirectoryStore, type RepoStore } from "./repo-store.js";
import { loadRootChain, requireReleaseKeys, type RootChange, rotateRootLocked } from "./roots.js";
import { readForSwap, withRepoLock, writeExpecting } from "./repo-writer.js";
import type { RepoLock } from "./repo-lock.js";
import { DEFAULT_POINTER_EXPIRY_DAYS, requireSafeExpiry } from "./publish-guards.js";
import { nodeCrypto } from "../node/node-crypto.js";

export interface ResignOptions {
  readonly repo: string | RepoStore;
  readonly channel?: string;
  readonly keys: readonly SigningKey[];
  readonly expiresInDays?: number;
  readonly now?: Date;
  /** Guard rail override (--allow-short-expiry): a pointer expiring within MIN_EXPIRY_DAYS. */
  readonly allowShortExpiry?: boolean;
}

/**
 * Re-signs a channel's pointer with a new expiry and the next serial, under the newest root, without
 * touching content (a cron job keeps a channel fresh this way; also the step after rotating release keys).
 * The current pointer is verified first under the root it names, so a tampered pointer is never blessed.
 */
export async function resign(options: ResignOptions): Promise<PointerBody> {
  return rewriteChannel(options, async (body) => body);
}

/**
 * Re-signs a channel's pointer after `edit` (the next serial, newest root and a new expiry are set
 * here): the current pointer is verified under the root it names first. Shared by resign and rollouts.
 */
export async function rewriteChannel(
  options: ResignOptions,
  edit: (current: PointerBody, store: RepoStore) => Promise<PointerBody>,
): Promise<PointerBody> {
  const channel = options.channel ?? "stable";
  checkChannelName(channel);
  const store = typeof options.repo === "string" ? new DirectoryStore(options.repo) : options.repo;
  return withRepoLock(store, "resign", (lock) => rewriteChannelLocked(store, lock, channel, options, edit));
}

async function rewriteChannelLocked(
  store: RepoStore,
  lock: RepoLock,
  channel: string,
  options: ResignOptions,
  edit: (current: PointerBody, store: RepoStore) => Promise<PointerBody>,
): Promise<PointerBody> {
  {
    const path = `channels/${channel}.json`;
    const { data: bytes, tag } = await readForSwap(store, path);
    if (!bytes) {
      throw new FerryError(
        "E_USAGE",
        `The repository has no channel '${channel}' (${path}); publish to it first.`,
        {
          channel,
        },
      );
    }
    const chain = await loadRootChain(store);
    const current = parsePointer(bytes, path);
    const signedUnder = chain[current.claimedRoot - 1];
    if (!signedUnder) {
      throw new FerryError(
        "E_FORMAT",
        `${path} names root version ${current.claimedRoot}, which the repository lacks.`,
        {
          channel,
        },
      );
    }
    const verified = await verifyPointer(current, signedUnder.body, nodeCrypto);
    const newest = chain.at(-1)!;
    const now = options.now ?? new Date();
    requireReleaseKeys(newest.body, options.keys, now);
    const expires = expiryAfterDays(now, options.expiresInDays ?? DEFAULT_POINTER_EXPIRY_DAYS);
    requireSafeExpiry(expires, options.allowShortExpiry === true, "--allow-short-expiry", [
      ...(lock.storeTime ? [{ source: `the clock of ${store.location}`, time: lock.storeTime }] : []),
      { source: "the current pointer's publish time", time: new Date(verified.body.published) },
    ]);
    const body: PointerBody = {
      ...(await edit(verified.body, store)),
      serial: verified.body.serial + 1,
      root: newest.body.version,
      expires,
    };
    await lock.assertHeld();
    await writeExpecting(store, path, signPointer(body, options.keys), tag);
    return body;
  }
}

/**
 * `ferry root rotate`: writes root N+1 and, when the signing keys include a threshold of its release
 * keys, re-signs every channel under it while still holding the repository, so no client ever sees a
 * channel whose pointer names an older root than the newest (which clients refuse, FORMAT.md §6).
 * Returns the channels re-signed; none when the release keys are elsewhere (then run 'ferry resign').
 */
export async function rotateAndResign(
  change: RootChange & { readonly allowShortExpiry?: boolean },
): Promise<{ root: RootBody; resigned: string[] }> {
  const store = typeof change.repo === "string" ? new DirectoryStore(change.repo) : change.repo;
  return withRepoLock(store, "root rotate", async (lock) => {
    const root = await rotateRootLocked(store, change);
    const now = change.now ?? new Date();
    const authorised = new Set(
      change.signers.map((k) => k.keyid).filter((id) => root.roles.release.keyids.includes(id)),
    );
    // The release keys are not here (an offline root key): the caller says to run 'ferry resign'.
    if (authorised.size < root.roles.release.threshold) return { root, resigned: [] };
    const channels = (await store.list("channels"))
      .filter((p) => p.endsWith(".json"))
      .map((p) => p.slice("channels/".length, -".json".length))
      .filter((c) => CHANNEL_PATTERN.test(c))
      .sort();
    for (const channel of channels) {
      await rewriteChannelLocked(
        store,
        lock,
        channel,
        {
          repo: store,
          keys: change.signers,
          now,
          ...(change.allowShortExpiry ? { allowShortExpiry: true } : {}),
        },
        async (body) => body,
      );
    }
    return { root, resigned: channels };
  });
}
