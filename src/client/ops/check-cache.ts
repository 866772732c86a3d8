import { FerryError, type FerryErrorCode, isFerryError } from "../../core/errors.js";
import { JsonReader, parseJson } from "../../core/json-reader.js";
import { MAX_POINTER_BYTES } from "../../core/pointer.js";
import type { FileSystem } from "../../ports/fs.js";
import type { Transport, TransportResponse } from "../../ports/transport.js";
import { type Context, makeContext } from "../context.js";
import { isTransient, readCapped } from "../remote/http.js";
import type { InstallLayout } from "../install/layout.js";
import { RemoteRepository } from "../remote/remote.js";
import { readState } from "../install/read-state.js";
import { check, type CheckResult, type UpdateOptions } from "./update.js";

/** Where an answer came from. */
export type CheckSource =
  /** A full, verified check over the network (the pointer changed, or nothing was cached). */
  | "network"
  /** The cached answer, younger than maxAge: no request at all. */
  | "cache"
  /** The server answered 304 to If-None-Match: the pointer is unchanged, the cached answer stands. */
  | "not-modified"
  /** The network failed; the cached answer, with its age. */
  | "offline";

export interface CheckAnswer extends CheckResult {
  readonly source: CheckSource;
  /** When the network last confirmed this answer (ISO time). */
  readonly checkedAt: string;
  /** Milliseconds since checkedAt. */
  readonly ageMs: number;
  /** When source is "offline": why the network could not be asked. */
  readonly offlineError?: { readonly code: FerryErrorCode; readonly message: string };
}

export interface CachedCheckOptions extends UpdateOptions {
  /** Answer from the cache without any request while the answer is younger than this (default 0). */
  readonly maxAgeMs?: number;
  /**
   * A cache kept in this process too (an Updater's, an agent's): it answers when `.ferry/check-cache.json`
   * cannot be written (no install directory yet, a read-only install). The file wins when it exists.
   */
  readonly memory?: CheckCacheMemory;
}

/** The in-process copy of the check cache (create one with `{}` and pass it to every cachedCheck). */
export interface CheckCacheMemory {
  record?: CacheRecord;
}

/**
 * A 304 can only extend an answer this long after the pointer's bytes were last received: nginx's ETag is
 * mtime+size, so a pointer replaced within one second by one of the same size gets the old tag, and
 * without this bound every later revalidation would confirm the stale answer.
 */
export const MAX_NOT_MODIFIED_MS = 24 * 60 * 60 * 1000;

interface CacheRecord {
  readonly repo: string;
  readonly channel: string;
  /** The install the answer was computed for: its manifest hash and serial, or null before install. */
  readonly installed: string | null;
  readonly etag: string | null;
  /** When the pointer's bytes were last received (a 200). */
  readonly fetchedAt: string;
  /** When the network last confirmed the answer (a 200 or a 304). */
  readonly checkedAt: string;
  /** The verified pointer's expiry: a cached answer never outlives it. */
  readonly expires: string;
  readonly result: CheckResult;
}

export function checkCachePath(layout: InstallLayout): string {
  return `${layout.ferry}/check-cache.json`;
}

/**
 * `check` with a cached answer (Ren'Py's check_interval): inside `maxAgeMs` no request is made; after
 * it, the pointer is fetched with If-None-Match and a 304 keeps the answer (one small request, no
 * manifest); a changed pointer runs the full verified check. When the network fails, the cached answer
 * is returned with source "offline" and its age. The cache is advisory: `update` never reads it.
 */
export async function cachedCheck(options: CachedCheckOptions): Promise<CheckAnswer> {
  const ctx = makeContext(options.installDir, options);
  const { fs, layout, clock } = ctx;
  const channel = options.channel ?? "stable";
  const repo = new RemoteRepository(options.repoUrl, ctx.transport, ctx.crypto);
  const state = await readState(ctx);
  const installed = state ? `${state.manifest.hash}:${state.serial}` : null;
  const now = clock.now();
  const cached = (await readCache(fs, layout)) ?? options.memory?.record;
  const usable =
    cached &&
    cached.repo === repo.base &&
    cached.channel === channel &&
    cached.installed === installed &&
    Date.parse(cached.expires) > now.getTime()
      ? cached
      : undefined;
  const answer = (record: CacheRecord, source: CheckSource, extra: Partial<CheckAnswer> = {}) => ({
    ...record.result,
    source,
    checkedAt: record.checkedAt,
    ageMs: Math.max(0, now.getTime() - Date.parse(record.checkedAt)),
    ...extra,
  });
  if (usable && now.getTime() - Date.parse(usable.checkedAt) < (options.maxAgeMs ?? 0)) {
    return answer(usable, "cache");
  }

  const pointerUrl = repo.url(`channels/${channel}.json`);
  const conditional =
    usable?.etag && now.getTime() - Date.parse(usable.fetchedAt) < MAX_NOT_MODIFIED_MS
      ? { "if-none-match": usable.etag }
      : undefined;
  let response: TransportResponse;
  try {
    response = await ctx.transport.get(pointerUrl, {
      ...(conditional ? { headers: conditional } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    if (usable && isTransient(error)) return offline(answer(usable, "offline"), error as FerryError);
    // Nothing cached: the full check retries transient failures and reports the last one.
    if (isTransient(error)) return fullCheck(options, ctx, repo.base, channel, now, undefined);
    throw error;
  }
  if (response.status === 304 && conditional && usable) {
    await response.cancel();
    const record = { ...usable, checkedAt: now.toISOString() };
    await writeCache(ctx, record, options.memory);
    return { ...answer(record, "not-modified"), ageMs: 0 };
  }
  if (response.status !== 200) {
    await response.cancel();
    // Let the full check report the failure (with its retries and its error messages) unless the cache
    // can answer: a failing server is "offline" for the game's purposes.
    if (usable && response.status >= 500) {
      return offline(
        answer(usable, "offline"),
        new FerryError("E_HTTP", `${pointerUrl} answered HTTP ${response.status}.`, {
          url: pointerUrl,
          status: response.status,
        }),
      );
    }
    return fullCheck(options, ctx, repo.base, channel, now, undefined);
  }
  let bytes: Uint8Array;
  try {
    bytes = await readCapped(response, MAX_POINTER_BYTES, `channel pointer '${channel}'`);
  } catch (error) {
    if (usable && isTransient(error)) return offline(answer(usable, "offline"), error as FerryError);
    throw error;
  }
  return fullCheck(options, ctx, repo.base, channel, now, {
    url: pointerUrl,
    response,
    bytes,
  });
}

function offline(answer: CheckAnswer, error: FerryError): CheckAnswer {
  return { ...answer, offlineError: { code: error.code, message: error.message } };
}

interface Fetched {
  readonly url: string;
  readonly response: TransportResponse;
  readonly bytes: Uint8Array;
}

/** The verified check; the pointer already received is replayed to it rather than fetched again. */
async function fullCheck(
  options: CachedCheckOptions,
  ctx: Context,
  repo: string,
  channel: string,
  now: Date,
  fetched: Fetched | undefined,
): Promise<CheckAnswer> {
  const { transport } = ctx;
  const result = await check({
    ...options,
    transport: fetched ? replayOnce(transport, fetched) : transport,
  });
  const after = await readState(ctx);
  const record: CacheRecord = {
    repo,
    channel,
    installed: after ? `${after.manifest.hash}:${after.serial}` : null,
    etag: fetched?.response.header("etag") ?? null,
    fetchedAt: now.toISOString(),
    checkedAt: now.toISOString(),
    expires: result.expires,
    result,
  };
  await writeCache(ctx, record, options.memory);
  return { ...result, source: "network", checkedAt: record.checkedAt, ageMs: 0 };
}

/** A transport whose first GET of `fetched.url` answers with the bytes already received. */
function replayOnce(inner: Transport, fetched: Fetched): Transport {
  let used = false;
  return {
    get(url, request) {
      if (used || url !== fetched.url || request?.headers?.range !== undefined)
        return inner.get(url, request);
      used = true;
      const bytes = fetched.bytes;
      return Promise.resolve({
        status: 200,
        url: fetched.response.url,
        header: (name: string) =>
          name.toLowerCase() === "content-length" ? String(bytes.length) : fetched.response.header(name),
        body: (async function* () {
          yield bytes;
        })(),
        cancel: async () => undefined,
      });
    },
  };
}

async function readCache(fs: FileSystem, layout: InstallLayout): Promise<CacheRecord | undefined> {
  const path = checkCachePath(layout);
  if (!(await fs.stat(path))) return undefined;
  try {
    return parseCache(parseJson(path, await fs.readFile(path)), path);
  } catch (error) {
    // The cache is disposable: one that cannot be read (older format, damaged) is recomputed and
    // overwritten, never trusted. File-system errors other than format errors still surface.
    if (isFerryError(error, "E_FORMAT") || isFerryError(error, "E_UNSUPPORTED_FORMAT")) return undefined;
    throw error;
  }
}

function parseCache(json: unknown, document: string): CacheRecord {
  const r = new JsonReader(document, json);
  r.string("type", /^ferry-check-cache$/);
  const res = r.object("result");
  const raw = json as Record<string, unknown>;
  const rawResult = raw.result as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === "string" ? value : null);
  const notes = text(rawResult.notes);
  const runtime = text(rawResult.runtime);
  const result: CheckResult = {
    updateAvailable: res.boolean("updateAvailable"),
    installedVersion: text(rawResult.installedVersion),
    version: res.string("version"),
    serial: res.integer("serial"),
    expires: res.string("expires"),
    downloadBytes: res.integer("downloadBytes"),
    filesToWrite: res.integer("filesToWrite"),
    filesToDelete: res.integer("filesToDelete"),
    metadataBytes: res.integer("metadataBytes"),
    ...(notes === null ? {} : { notes }),
    ...(runtime === null ? {} : { runtime }),
    // Release policy (docs/ROLLBACK.md); a cache written before it existed reads as "no policy".
    mandatory: rawResult.mandatory === true,
    minVersion: text(rawResult.minVersion),
    mustUpdate: rawResult.mustUpdate === true,
    rolloutBucket: typeof rawResult.rolloutBucket === "number" ? rawResult.rolloutBucket : null,
    selection: selectionReason(rawResult.selection),
  };
  return {
    repo: r.string("repo"),
    channel: r.string("channel"),
    installed: text(raw.installed),
    etag: text(raw.etag),
    fetchedAt: r.string("fetchedAt"),
    checkedAt: r.string("checkedAt"),
    expires: r.string("expires"),
    result,
  };
}

/**
 * Replaces the cache atomically without the install lock: a unique temp name that recovery does not
 * sweep (it is not `.tmp-<hex>`), then rename. A crash leaves the old cache or the new one. The cache is
 * advisory: on an install this process may not write (read-only volume, another user's install) it is
 * not written, never an error; and it never creates an install directory that does not exist yet.
 */
async function writeCache(
  ctx: Context,
  record: CacheRecord,
  memory: CheckCacheMemory | undefined,
): Promise<void> {
  if (memory) memory.record = record;
  const { fs, layout, host } = ctx;
  if ((await fs.stat(layout.root))?.kind !== "directory") return;
  const dir = (await fs.stat(layout.ferry)) ? layout.ferry : layout.root;
  if (fs.writable && (await fs.writable(dir)) !== undefined) return;
  const path = checkCachePath(layout);
  const temp = `${path}.new-${host.pid}-${host.randomId(4)}`;
  const data = new TextEncoder().encode(
    JSON.stringify({ format: 1, type: "ferry-check-cache", ...record }, null, 1),
  );
  try {
    await fs.mkdirp(layout.ferry);
    await fs.writeFile(temp, data);
    await fs.rename(temp, path);
  } catch (error) {
    await fs.unlink(temp).catch(() => undefined);
    if (isFerryError(error) && CANNOT_WRITE.has(String(error.data.systemCode))) return;
    throw error;
  }
}

/** System codes meaning this process may not write there: the cache is skipped. */
const CANNOT_WRITE = new Set(["EACCES", "EPERM", "EROFS"]);

function selectionReason(value: unknown): CheckResult["selection"] {
  return value === "fallback" || value === "stay" || value === "halted" ? value : "release";
}
