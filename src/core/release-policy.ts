import type { Crypto } from "../ports/crypto.js";
import type { ManifestRef, PointerBody, ReleaseRef } from "./pointer.js";
import { compareVersions } from "./version.js";

/** Buckets of a staged rollout: a rollout of `basisPoints` reaches buckets 0 .. basisPoints-1. */
export const ROLLOUT_BUCKETS = 10000;

/**
 * An install's bucket for one release (docs/ROLLBACK.md): the first 4 bytes of
 * SHA-256("<installId>:<manifest hash>") as a big-endian unsigned integer, mod 10000. Per release, so the
 * same installs are not always the first to receive an update; deterministic, so raising the percentage
 * only adds installs and never moves one out.
 */
export async function rolloutBucket(
  crypto: Crypto,
  installId: string,
  manifestHash: string,
): Promise<number> {
  const digest = await crypto.sha256(new TextEncoder().encode(`${installId}:${manifestHash}`));
  return bucketOfDigest(digest);
}

/** The bucket of a SHA-256 hex digest: its first 4 bytes, big-endian, mod ROLLOUT_BUCKETS. */
export function bucketOfDigest(digestHex: string): number {
  return Number.parseInt(digestHex.slice(0, 8), 16) % ROLLOUT_BUCKETS;
}

export interface Installed {
  readonly version: string;
  readonly manifest: ManifestRef;
}

/** Which release of a pointer this install should have, and why. */
export interface Selection {
  readonly target: ReleaseRef;
  /**
   * "release": the pointer's release (no rollout, or inside it); "fallback": outside a rollout;
   * "stay": outside a rollout but already newer than its fallback (or on the rollout release), kept;
   * "halted": the installed release was withdrawn by `ferry rollout halt`, go back to the pointer's.
   */
  readonly reason: "release" | "fallback" | "stay" | "halted";
  /** The bucket when the pointer carries a rollout. */
  readonly bucket: number | null;
  /** The signed pointer itself authorises going back in version (halt). Serial rules still hold. */
  readonly downgradeAuthorised: boolean;
}

/**
 * The release an install with `installId` (on `installed`) takes from a verified pointer. Pure but for
 * hashing the bucket through the crypto port.
 */
export async function selectRelease(
  crypto: Crypto,
  body: PointerBody,
  installId: string,
  installed: Installed | undefined,
): Promise<Selection> {
  const release: ReleaseRef = { version: body.version, manifest: body.manifest };
  const bucket = body.rollout ? await rolloutBucket(crypto, installId, body.manifest.hash) : null;
  if (body.halted && installed && installed.manifest.hash === body.halted.manifest.hash) {
    return { target: release, reason: "halted", bucket, downgradeAuthorised: true };
  }
  if (!body.rollout || bucket === null || bucket < body.rollout.basisPoints) {
    return { target: release, reason: "release", bucket, downgradeAuthorised: false };
  }
  const fallback = body.rollout.fallback;
  if (
    installed &&
    (installed.manifest.hash === body.manifest.hash ||
      compareVersions(installed.version, fallback.version) > 0)
  ) {
    // Never pushed back by a rollout: a lowered percentage or a newer install keeps what it has.
    return {
      target: { version: installed.version, manifest: installed.manifest },
      reason: "stay",
      bucket,
      downgradeAuthorised: false,
    };
  }
  return { target: fallback, reason: "fallback", bucket, downgradeAuthorised: false };
}

/** "Clients below X must update before playing": true when the installed version is below `minVersion`. */
export function belowMinimum(body: PointerBody, installedVersion: string | undefined): boolean {
  return (
    body.minVersion !== undefined &&
    installedVersion !== undefined &&
    compareVersions(installedVersion, body.minVersion) < 0
  );
}
