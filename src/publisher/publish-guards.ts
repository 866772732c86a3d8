import { FerryError } from "../core/errors.js";

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Default pointer expiry (publish, resign, rollout): 90 days. A freeze attack (an old pointer replayed to
 * keep players on an old release) works at most this long; a studio that goes silent has this long before
 * checks fail (installed games keep starting regardless). The reasoning: docs/SECURITY.md "Expiry".
 */
export const DEFAULT_POINTER_EXPIRY_DAYS = 90;

/**
 * A pointer must be valid for at least this long when written, by every clock the writer can see: less
 * leaves no time to notice and renew, and "already expired" means the publisher's clock (or a
 * SOURCE_DATE_EPOCH creation time) is wrong. Overridable (--allow-short-expiry).
 */
export const MIN_EXPIRY_DAYS = 7;
/** `publish`, `report` and `check` warn when a pointer or root expires within this many days. */
export const EXPIRY_WARNING_DAYS = 14;

/** Whole days from `now` to `expires` (negative when past). */
export function daysLeft(expires: string, now: Date): number {
  return Math.floor((Date.parse(expires) - now.getTime()) / DAY_MS);
}

/**
 * Refuses an expiry under MIN_EXPIRY_DAYS from the latest of this machine's clock and `clocks` (the
 * store's clock, the current pointer's publish time): a publisher clock years behind writes an expiry
 * that looks fine to itself but is already past for every player.
 */
export function requireSafeExpiry(
  expires: string,
  allow: boolean,
  flag: string,
  clocks: readonly { readonly source: string; readonly time: Date }[],
  machineNow: Date = new Date(),
): void {
  if (allow) return;
  const latest = [{ source: "this machine's clock", time: machineNow }, ...clocks].reduce((a, b) =>
    b.time.getTime() > a.time.getTime() ? b : a,
  );
  const left = Date.parse(expires) - latest.time.getTime();
  if (left >= MIN_EXPIRY_DAYS * DAY_MS) return;
  const when = left <= 0 ? "is already past" : `is only ${(left / DAY_MS).toFixed(1)} day(s) away`;
  throw new FerryError(
    "E_UNSAFE_PUBLISH",
    `The new pointer would expire at ${expires}, which ${when} by ${latest.source} (${latest.time.toISOString()}): players would get E_EXPIRED ${left <= 0 ? "at once" : "within days"}. Check this machine's clock and SOURCE_DATE_EPOCH, or raise --expires-days (at least ${MIN_EXPIRY_DAYS}); pass ${flag} only if a short expiry is really meant.`,
    { reason: "expiry", flag, expires, clock: latest.time.toISOString(), source: latest.source },
  );
}
