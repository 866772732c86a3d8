import type { Crypto } from "../../ports/crypto.js";
import type { MirroredSource } from "./pointer-sources.js";

/**
 * A repository view that remembers which pointer and root bytes were read since the last fingerprint,
 * so a verification retry can tell a document's own failure (same bytes again) from damage on the way.
 */
export function recordedSource(
  repo: MirroredSource,
  crypto: Crypto,
): { source: MirroredSource; fingerprint: () => string } {
  let read: string[] = [];
  const record = async (bytes: Uint8Array) => {
    read.push(await crypto.sha256(bytes));
    return bytes;
  };
  return {
    source: {
      mirrors: repo.mirrors,
      pointerBytes: (channel, signal, mirror) => repo.pointerBytes(channel, signal, mirror).then(record),
      rootBytes: (version, signal, mirror) => repo.rootBytes(version, signal, mirror).then(record),
    },
    fingerprint: () => {
      const text = read.sort().join();
      read = [];
      return text;
    },
  };
}
