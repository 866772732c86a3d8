import { createHash } from "node:crypto";

export type Sha256Hex = string;

const HEX64 = /^[0-9a-f]{64}$/;

export function sha256(data: Uint8Array | string): Sha256Hex {
  return createHash("sha256").update(data).digest("hex");
}

export function isSha256Hex(value: unknown): value is Sha256Hex {
  return typeof value === "string" && HEX64.test(value);
}

/** Incremental SHA-256 for streamed data; memory does not grow with input size. */
export function sha256Stream() {
  const hash = createHash("sha256");
  let length = 0;
  return {
    update(data: Uint8Array): void {
      hash.update(data);
      length += data.length;
    },
    get length(): number {
      return length;
    },
    digest(): Sha256Hex {
      return hash.digest("hex");
    },
  };
}
