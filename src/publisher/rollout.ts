import { decodeUpTo, MAX_DECODED_BYTES } from "../core/codec.js";
import { nodeBrotli } from "../node/node-codec.js";
import { FerryError } from "../core/errors.js";
import { sha256 } from "../node/node-crypto.js";
import { parseJson } from "../core/json-reader.js";
import { parseManifest, VERSION_PATTERN } from "../core/manifest.js";
import type { PointerBody, ReleaseRef, Rollout } from "../core/pointer.js";
import type { RepoStore } from "./repo-store.js";
import { type ResignOptions, rewriteChannel } from "./resign.js";

/** A rollout percentage (0 < p <= 100, at most two decimals) in basis points. */
export function basisPoints(percent: number): number {
  const bp = Math.round(percent * 100);
  if (!Number.isFinite(percent) || percent <= 0 || percent > 100 || Math.abs(bp - percent * 100) > 1e-6) {
    throw new FerryError(
      "E_USAGE",
      `Invalid rollout percentage ${percent}: use a number above 0 and at most 100, with at most two decimals.`,
      { percent },
    );
  }
  return bp;
}

/**
 * The release installs outside a new rollout keep: the channel's current release, or, when that is
 * itself only partly rolled out, the release that one falls back to (the last one everybody has).
 */
function fallbackOf(current: PointerBody): ReleaseRef {
  if (current.rollout && current.rollout.basisPoints < 10000) return current.rollout.fallback;
  return { version: current.version, manifest: current.manifest };
}

/** The `rollout` field for a publish at `percent` over the channel's `current` pointer (or none at 100). */
export function rolloutForPublish(
  percent: number | undefined,
  current: PointerBody | undefined,
  channel: string,
): Rollout | undefined {
  if (percent === undefined) return undefined;
  const bp = basisPoints(percent);
  if (bp === 10000) return undefined;
  if (!current) {
    throw new FerryError(
      "E_USAGE",
      `A staged rollout needs a release to fall back to, and channel '${channel}' has none yet. Publish the first release to everybody.`,
      { channel },
    );
  }
  return { basisPoints: bp, fallback: fallbackOf(current) };
}

/** The policy fields a publish writes into the pointer (docs/ROLLBACK.md). */
export function publishPolicy(
  options: { readonly mandatory?: boolean; readonly minVersion?: string; readonly rolloutPercent?: number },
  current: PointerBody | undefined,
  channel: string,
): Partial<PointerBody> {
  if (options.minVersion !== undefined && !VERSION_PATTERN.test(options.minVersion)) {
    throw new FerryError("E_USAGE", `Invalid minimum version ${JSON.stringify(options.minVersion)}.`, {
      minVersion: options.minVersion,
    });
  }
  const rollout = rolloutForPublish(options.rolloutPercent, current, channel);
  return {
    ...(options.mandatory === true ? { mandatory: true } : {}),
    ...(options.minVersion === undefined ? {} : { minVersion: options.minVersion }),
    ...(rollout ? { rollout } : {}),
  };
}

/** Without the optional policy fields named. */
function without(
  body: PointerBody,
  ...keys: readonly ("rollout" | "halted" | "mandatory" | "minVersion")[]
): PointerBody {
  const copy: Record<string, unknown> = { ...body };
  for (const key of keys) delete copy[key];
  return copy as unknown as PointerBody;
}

/** `ferry rollout set <pct>`: the channel's rollout share; 100 ends the rollout (everybody). */
export async function setRollout(
  options: ResignOptions & { readonly percent: number },
): Promise<PointerBody> {
  const bp = basisPoints(options.percent);
  return rewriteChannel(options, async (current) => {
    if (!current.rollout) {
      throw new FerryError(
        "E_USAGE",
        `Channel '${current.channel}' (${current.version}) is not in a staged rollout; publish with --rollout to start one.`,
        { channel: current.channel },
      );
    }
    const base = without(current, "halted");
    return bp === 10000
      ? without(base, "rollout")
      : { ...base, rollout: { ...current.rollout, basisPoints: bp } };
  });
}

/** The release published before `current` on its channel (its manifest's `previous`), read from the store. */
async function previousRelease(store: RepoStore, current: PointerBody): Promise<ReleaseRef> {
  const read = async (ref: { hash: string; size: number }) => {
    const path = `manifests/${ref.hash}`;
    const bytes = await store.read(path);
    if (!bytes || bytes.length !== ref.size || sha256(bytes) !== ref.hash) {
      throw new FerryError("E_HASH_MISMATCH", `${path} is missing or damaged in the repository.`, { path });
    }
    // No client decodes a manifest past MAX_DECODED_BYTES, so neither does the publisher (was 1 GiB here).
    const raw = decodeUpTo(nodeBrotli, bytes, MAX_DECODED_BYTES, path);
    return { manifest: parseManifest(parseJson(path, raw), path), size: bytes.length, rawSize: raw.length };
  };
  const now = await read(current.manifest);
  const ref = now.manifest.previous;
  if (!ref) {
    throw new FerryError(
      "E_USAGE",
      `Channel '${current.channel}' has no release before ${current.version} to go back to.`,
      { channel: current.channel },
    );
  }
  const before = await read(ref);
  return {
    version: before.manifest.version,
    manifest: { hash: ref.hash, size: before.size, codec: "br", rawSize: before.rawSize },
  };
}

/**
 * `ferry rollout halt`: the channel points back at the release before the current one (the rollout's
 * fallback, or the manifest's `previous`) with the next serial and no new version, and names the
 * withdrawn release in `halted`: installs that took it go back (docs/ROLLBACK.md, SECURITY.md).
 */
export async function haltRollout(options: ResignOptions): Promise<PointerBody> {
  return rewriteChannel(options, async (current, store) => {
    const target = current.rollout ? current.rollout.fallback : await previousRelease(store, current);
    // The withdrawn release's own policy (mandatory, minimum version) goes with it.
    const base = without(current, "rollout", "halted", "mandatory", "minVersion");
    return {
      ...base,
      version: target.version,
      manifest: target.manifest,
      halted: { version: current.version, manifest: current.manifest },
    };
  });
}
