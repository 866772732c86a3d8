export type Sha256Hex = string;

const HEX64 = /^[0-9a-f]{64}$/;

export function isSha256Hex(value: unknown): value is Sha256Hex {
  return typeof value === "string" && HEX64.test(value);
}

// Hashing itself is a port (src/ports/crypto.ts): the core has no digest of its own.
