import { FerryError } from "./errors.js";

/** Times in Ferry metadata: UTC, whole seconds (`TIME_PATTERN`). */
export function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** `now` plus a positive number of days, as a metadata timestamp (expiry fields). */
export function expiryAfterDays(now: Date, days: number): string {
  if (!(days > 0) || !Number.isFinite(days)) {
    throw new FerryError("E_USAGE", `An expiry must be a positive number of days, got ${days}.`, { days });
  }
  return timestamp(new Date(now.getTime() + days * 86_400_000));
}
