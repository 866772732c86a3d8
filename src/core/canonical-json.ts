import { FerryError } from "./errors.js";

/**
 * Canonical JSON (docs/FORMAT.md §1): sorted keys, no whitespace, integers only.
 * Signatures cover these bytes, so two implementations must produce them identically.
 */
/** Deeper nesting is refused: Ferry's documents are shallow, and recursion must not overflow the stack. */
export const MAX_DEPTH = 32;

export function canonicalJson(value: unknown, depth = 0): string {
  if (depth > MAX_DEPTH) {
    throw new FerryError(
      "E_FORMAT",
      `Canonical JSON refuses values nested deeper than ${MAX_DEPTH} levels.`,
      { depth },
    );
  }
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) {
      throw new FerryError("E_FORMAT", `Canonical JSON allows only safe integers, got ${value}.`, { value });
    }
    return String(value);
  }
  if (Array.isArray(value))
    return "[" + Array.from(value, (item) => canonicalJson(item, depth + 1)).join(",") + "]"; // holes become undefined and are refused
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return (
      "{" + entries.map(([k, v]) => JSON.stringify(k) + ":" + canonicalJson(v, depth + 1)).join(",") + "}"
    );
  }
  throw new FerryError("E_FORMAT", `Canonical JSON cannot encode a value of type ${typeof value}.`);
}

export function canonicalBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalJson(value));
}
