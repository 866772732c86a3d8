import type { Crypto } from "../../ports/crypto.js";
import { canonicalBytes } from "../../core/canonical-json.js";
import { FerryError, isFerryError } from "../../core/errors.js";
import {
  parsePointer,
  type SignedPointer,
  type UnverifiedPointer,
  verifyPointer,
} from "../../core/pointer.js";
import {
  checkRootExpiry,
  MAX_ROOT_STEPS,
  type TrustedRoot,
  trustFirstRoot,
  trustNextRoot,
  trustShippedRoot,
} from "../../core/root.js";
import type { EventSink } from "../events.js";
import { isTransient } from "./http.js";
import { mirrorEvent, type MirrorSet } from "./mirrors.js";
import {
  checkKeyAnchor,
  installedTrust,
  type PointerSource,
  sameRoot,
  type StoredTrust,
  type TrustAnchor,
} from "./trust.js";

/** The mirrors' base URLs plus read access to one of them (RemoteRepository implements it). */
export interface MirroredSource {
  readonly mirrors: MirrorSet;
  pointerBytes(channel: string, signal?: AbortSignal, mirror?: number): Promise<Uint8Array>;
  rootBytes(version: number, signal?: AbortSignal, mirror?: number): Promise<Uint8Array>;
}

export interface VerifiedPointer {
  readonly pointer: SignedPointer;
  /** The newest verified root: what the install stores. */
  readonly root: TrustedRoot;
  readonly releaseKeysRotated: boolean;
}

/** What one source serves: its pointer (not yet verified) and its verified root chain from the start. */
interface SourceView {
  readonly unverified: UnverifiedPointer;
  /** chain[0] is the starting root; each next one verified against the one before. */
  readonly chain: readonly TrustedRoot[];
  /** The answer that ended the walk (root/<n+1>.json absent). */
  readonly end: FerryError;
}

const canonicalText = (document: unknown) => new TextDecoder().decode(canonicalBytes(document));

/** HTTP statuses that mean "no such root version" (S3 answers 403 for a missing key without list rights). */
const ABSENT = new Set([403, 404, 410]);

function isAbsent(error: unknown): error is FerryError {
  return isFerryError(error, "E_HTTP") && ABSENT.has(Number(error.data.status));
}

/**
 * TUF §5.3: probes root/<n+1>.json until it is absent, verifying each step against the one before. Any
 * other failure (a forged or replayed root, a network error) fails the source.
 */
async function walkRoots(
  src: PointerSource,
  start: TrustedRoot,
  signal: AbortSignal | undefined,
  crypto: Crypto,
): Promise<{ chain: TrustedRoot[]; end: FerryError }> {
  const chain = [start];
  for (;;) {
    const last = chain.at(-1)!;
    const next = last.body.version + 1;
    let bytes: Uint8Array;
    try {
      bytes = await src.rootBytes(next, signal);
    } catch (error) {
      if (isAbsent(error)) return { chain, end: error };
      throw error;
    }
    if (chain.length > MAX_ROOT_STEPS) {
      throw new FerryError(
        "E_FORMAT",
        `${src.url(`root/${next}.json`)} exists: more than ${MAX_ROOT_STEPS} root versions past the trusted root ${start.body.version}, the most Ferry walks per update. Ship a newer root with the game.`,
        { url: src.url(`root/${next}.json`), trusted: start.body.version },
      );
    }
    chain.push(await trustNextRoot(last.body, bytes, src.url(`root/${next}.json`), crypto));
  }
}

async function readSource(
  src: PointerSource,
  channel: string,
  start: TrustedRoot | { keys: TrustAnchor & { kind: "keys" } },
  signal: AbortSignal | undefined,
  installedPointer: string | undefined,
  crypto: Crypto,
): Promise<SourceView> {
  const url = src.url(`channels/${channel}.json`);
  // The pointer first: when it cannot be read, no root is requested.
  const unverified = parsePointer(await src.pointerBytes(channel, signal), url);
  // The installed release's own pointer, under the stored root: verified when it was installed and
  // nothing new to trust, so an up-to-date check stays one request. Withholding a newer root gains an
  // attacker nothing here: serving this pointer with root/<n+1>.json hidden has the same outcome.
  if (
    "body" in start &&
    unverified.claimedRoot === start.body.version &&
    installedPointer !== undefined &&
    canonicalText(unverified.envelope.document) === installedPointer
  ) {
    return {
      unverified,
      chain: [start],
      end: new FerryError("E_FORMAT", `${url} names no root past ${start.body.version}.`, { url }),
    };
  }
  const first =
    "body" in start
      ? start
      : await trustFirstRoot(await src.rootBytes(1, signal), start.keys, src.url("root/1.json"), crypto);
  return { unverified, ...(await walkRoots(src, first, signal, crypto)) };
}

/** Two sources must agree on every root version both serve: each was signed by a threshold of root keys. */
function governingChain(views: readonly SourceView[], urls: readonly string[]): readonly TrustedRoot[] {
  let best = views[0]!;
  for (const v of views) if (v.chain.at(-1)!.body.version > best.chain.at(-1)!.body.version) best = v;
  for (const [i, v] of views.entries()) {
    for (const root of v.chain) {
      const twin = best.chain.find((r) => r.body.version === root.body.version);
      if (twin && !sameRoot(twin, root)) {
        throw new FerryError(
          "E_SIGNATURE",
          `${urls[i]} and another source serve different root version ${root.body.version}, both signed by the root keys: a root key signed two roots, or the sources are not one repository. The publisher must check the root chain.`,
          { version: root.body.version },
        );
      }
    }
  }
  return best.chain;
}

/** A source's pointer checked against the governing root (the newest verified on any source). */
async function verifyAgainst(
  view: SourceView,
  chain: readonly TrustedRoot[],
  start: TrustedRoot,
  channel: string,
  crypto: Crypto,
): Promise<SignedPointer> {
  const root = chain.at(-1)!;
  const { url, claimedRoot } = view.unverified;
  if (claimedRoot < root.body.version) {
    throw new FerryError(
      "E_ROLLBACK",
      `${url} is signed under root version ${claimedRoot}, but root version ${root.body.version} is the newest verified one: a pointer from before a key rotation (replayed or stale, or signed by a rotated-out key). The install was not changed; the publisher must re-sign the channel under root ${root.body.version} ('ferry resign').`,
      { url, pointerRoot: claimedRoot, newestRoot: root.body.version },
    );
  }
  if (claimedRoot > root.body.version) {
    if (claimedRoot - start.body.version > MAX_ROOT_STEPS) {
      throw new FerryError(
        "E_FORMAT",
        `${url} is signed under root version ${claimedRoot}, ${claimedRoot - start.body.version} versions past the trusted root ${start.body.version}; Ferry walks at most ${MAX_ROOT_STEPS} per update. Ship a newer root with the game.`,
        { url, target: claimedRoot, trusted: start.body.version },
      );
    }
    throw view.end; // the root it names is absent
  }
  const pointer = await verifyPointer(view.unverified, root.body, crypto);
  if (pointer.body.channel !== channel) {
    throw new FerryError(
      "E_SIGNATURE",
      `${url} is signed for channel '${pointer.body.channel}', not '${channel}': a pointer was swapped.`,
      { url },
    );
  }
  return pointer;
}

/** A shipped root several versions ahead of the stored one must be on the verified chain (or extend it). */
async function passWaypoint(
  chain: readonly TrustedRoot[],
  waypoint: TrustedRoot | undefined,
  crypto: Crypto,
): Promise<TrustedRoot[]> {
  if (!waypoint) return [...chain];
  const at = chain.find((r) => r.body.version === waypoint.body.version);
  if (at && sameRoot(at, waypoint)) return [...chain];
  const last = chain.at(-1)!;
  if (!at && last.body.version + 1 === waypoint.body.version) {
    try {
      const bytes = new TextEncoder().encode(JSON.stringify(waypoint.document));
      return [...chain, await trustNextRoot(last.body, bytes, "the root file passed with --trust", crypto)];
    } catch {
      // reported below
    }
  }
  throw new FerryError(
    "E_KEY",
    `The root file passed with --trust (version ${waypoint.body.version}) does not chain from the root this install trusts (version ${chain[0]!.body.version}) through the repository's roots (newest ${last.body.version}): it may be another publisher's root. Pass the root or key the game was installed with.`,
    { version: waypoint.body.version, trusted: chain[0]!.body.version },
  );
}

/**
 * The channel pointer to follow (docs/FORMAT.md §6, docs/HOSTING.md "Mirrors"). Every source (the
 * primary and each mirror) is read on its own: its pointer, and its roots walked from the trusted root
 * until root/<n+1>.json is absent. The newest root verified on any source governs all of them: a
 * pointer naming an older root is E_ROLLBACK, whatever its serial. Among the pointers that verify, an
 * unexpired one beats an expired one, then the highest serial wins, then the earlier source. Fails only
 * when no source yields a valid pointer; never a downgrade (checkFreshness still runs on the result).
 */
export async function fetchNewestPointer(
  repo: MirroredSource,
  channel: string,
  anchor: TrustAnchor,
  stored: StoredTrust | undefined,
  started: Date,
  signal: AbortSignal | undefined,
  emit: EventSink,
  crypto: Crypto,
): Promise<VerifiedPointer> {
  const bases = repo.mirrors.bases;
  const sourceFor = (i: number | undefined): PointerSource => ({
    url: (path) => repo.mirrors.url(path, i),
    pointerBytes: (c, s) => repo.pointerBytes(c, s, i),
    rootBytes: (v, s) => repo.rootBytes(v, s, i),
  });
  const installed = stored ? await installedTrust(anchor, stored, crypto) : undefined;
  // Only without a newer shipped root to check: that needs the walk.
  const installedPointer =
    installed && !installed.waypoint && stored?.pointer !== undefined
      ? canonicalText(stored.pointer)
      : undefined;
  if (!installed && anchor.kind === "keys") checkKeyAnchor(anchor);
  const start =
    installed?.root ??
    (anchor.kind === "root" ? await trustShippedRoot(anchor.bytes, anchor.source, crypto) : { keys: anchor });
  // One source, or one attempt per mirror; when none answers and some failure was transient, the normal
  // failover with backoff follows (pointer and roots from whichever mirror answers).
  const indices = bases.length === 1 ? [undefined] : bases.map((_, i) => i);
  let results = await Promise.allSettled(
    indices.map((i) => readSource(sourceFor(i), channel, start, signal, installedPointer, crypto)),
  );
  let urls = indices.map((i) => repo.mirrors.url(`channels/${channel}.json`, i));
  if (indices.length > 1 && results.every((r) => r.status === "rejected")) {
    const reasons = results.map((r) => (r as PromiseRejectedResult).reason as unknown);
    if (!reasons.some(isTransient) || signal?.aborted) throw reasons[0];
    results = await Promise.allSettled([
      readSource(sourceFor(undefined), channel, start, signal, installedPointer, crypto),
    ]);
    urls = [repo.mirrors.url(`channels/${channel}.json`)];
  }
  const views = results.flatMap((r, i) => (r.status === "fulfilled" ? [{ view: r.value, i }] : []));
  if (views.length === 0) throw (results[0] as PromiseRejectedResult).reason;
  const chain = await passWaypoint(
    governingChain(
      views.map((v) => v.view),
      views.map((v) => urls[v.i]!),
    ),
    installed?.waypoint,
    crypto,
  );
  const root = chain.at(-1)!;
  checkRootExpiry(root.body, started, repo.mirrors.url(`root/${root.body.version}.json`));
  const outcomes = await Promise.all(
    results.map(async (r) => {
      if (r.status === "rejected") return r;
      try {
        const value = await verifyAgainst(r.value, chain, chain[0]!, channel, crypto);
        return { status: "fulfilled" as const, value };
      } catch (reason) {
        return { status: "rejected" as const, reason: reason as unknown };
      }
    }),
  );
  const valid = outcomes.flatMap((r, i) =>
    r.status === "fulfilled" ? [{ pointer: r.value, index: i }] : [],
  );
  const fresh = (p: SignedPointer) => new Date(p.body.expires).getTime() > started.getTime();
  const best = valid.reduce<(typeof valid)[number] | undefined>((a, b) => {
    if (!a) return b;
    if (fresh(a.pointer) !== fresh(b.pointer)) return fresh(a.pointer) ? a : b;
    return b.pointer.body.serial > a.pointer.body.serial ? b : a;
  }, undefined);
  if (!best) throw (outcomes.find((r) => r.status === "rejected") as { reason: unknown }).reason;
  const path = `channels/${channel}.json`;
  const baseOf = (i: number) => bases[i] ?? bases[0]!;
  for (const [i, r] of outcomes.entries()) {
    if (r.status === "rejected" && isFerryError(r.reason)) {
      emit(mirrorEvent(path, baseOf(i), baseOf(best.index), r.reason));
    }
  }
  const twin = valid.find(
    (v) =>
      v.pointer.body.serial === best.pointer.body.serial &&
      v.pointer.body.manifest.hash !== best.pointer.body.manifest.hash,
  );
  if (twin) {
    throw new FerryError(
      "E_SIGNATURE",
      `Mirrors ${baseOf(best.index)} and ${baseOf(twin.index)} serve different releases under the same serial ${best.pointer.body.serial} of channel '${channel}': they are not copies of one repository, or a release key signed two releases. Check the mirror configuration.`,
      { channel, serial: best.pointer.body.serial },
    );
  }
  // TUF §5.3.11: after the release keys change, what the old keys signed no longer sets the rollback
  // floor, so a publisher can recover from a fast-forward attack (a stolen key signing serial 2^50).
  const keyids = (r: TrustedRoot) => [...r.body.roles.release.keyids].sort().join();
  return { pointer: best.pointer, root, releaseKeysRotated: keyids(chain[0]!) !== keyids(root) };
}
