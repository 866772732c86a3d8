import { parsePointer, verifyPointer } from "../core/pointer.js";
import { daysLeft, EXPIRY_WARNING_DAYS } from "./publish-guards.js";
import type { RepoStore } from "./repo-store.js";
import { loadRootChain } from "./roots.js";
import { nodeCrypto } from "../node/node-crypto.js";

/** A root outlives many pointers and needs the offline key to renew: warned about earlier. */
export const ROOT_WARNING_DAYS = 30;

export interface ExpiryWarning {
  /** "channel stable" or "root 2". */
  readonly what: string;
  readonly expires: string;
  /** Whole days left (negative: expired). */
  readonly daysLeft: number;
  /** The command that renews it. */
  readonly renew: string;
}

/**
 * Every channel pointer expiring within EXPIRY_WARNING_DAYS and a newest root expiring within
 * ROOT_WARNING_DAYS (for `publish` and `report`). Reads only; a pointer is verified under the root it names.
 */
export async function expiryWarnings(store: RepoStore, now: Date = new Date()): Promise<ExpiryWarning[]> {
  const warnings: ExpiryWarning[] = [];
  const chain = await loadRootChain(store);
  const root = chain.at(-1);
  if (root) {
    const left = daysLeft(root.body.expires, now);
    if (left < ROOT_WARNING_DAYS)
      warnings.push({
        what: `root ${root.body.version}`,
        expires: root.body.expires,
        daysLeft: left,
        renew: "ferry root rotate --repo <repo> --sign <root.key>, then ferry resign for each channel",
      });
  }
  for (const path of (await store.list("channels")).filter((p) => p.endsWith(".json")).sort()) {
    const bytes = await store.read(path);
    if (!bytes) continue;
    const pointer = parsePointer(bytes, path);
    const signedUnder = chain[pointer.claimedRoot - 1];
    if (!signedUnder) continue; // publish and report name this fault themselves
    const body = (await verifyPointer(pointer, signedUnder.body, nodeCrypto)).body;
    const left = daysLeft(body.expires, now);
    if (left < EXPIRY_WARNING_DAYS)
      warnings.push({
        what: `channel ${body.channel}`,
        expires: body.expires,
        daysLeft: left,
        renew: `ferry resign --repo <repo> --key <release.key> --channel ${body.channel}`,
      });
  }
  return warnings;
}

/** One line for people: what expires when, and the renewal command. */
export function formatExpiryWarning(w: ExpiryWarning): string {
  const when = w.daysLeft < 0 ? `EXPIRED ${-w.daysLeft} day(s) ago` : `expires in ${w.daysLeft} day(s)`;
  return `warning: ${w.what} ${when} (${w.expires}); players then get E_EXPIRED on check and update (installed games keep starting). Renew: ${w.renew}`;
}
