import { FerryError } from "../core/errors.js";
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
import { loadRootChain, requireReleaseKeys } from "./roots.js";
import { readForSwap, withRepoLock, writeExpecting } from "./repo-writer.js";
import { DEFAULT_POINTER_EXPIRY_DAYS, requireSafeExpiry } from "./publish-guards.js";

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
  if (!CHANNEL_PATTERN.test(channel)) {
    throw new FerryError("E_USAGE", `Invalid channel name ${JSON.stringify(channel)}.`, { channel });
  }
  const store = typeof options.repo === "string" ? new DirectoryStore(options.repo) : options.repo;
  return withRepoLock(store, "resign", async (lock) => {
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
    const verified = verifyPointer(current, signedUnder.body);
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
  });
}
