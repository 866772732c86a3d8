import { checkMetadataRatio } from "../../core/metadata-limits.js";
import { decode } from "../../core/codec.js";
import { FerryError } from "../../core/errors.js";
import { parseJson } from "../../core/json-reader.js";
import { type Manifest, parseManifest } from "../../core/manifest.js";
import { MAX_POINTER_BYTES, type ManifestRef } from "../../core/pointer.js";
import { MAX_ROOT_BYTES } from "../../core/root.js";
import { objectPath, type StoredRef } from "../../core/tree.js";
import type { CorePorts } from "../../ports/core-ports.js";
import type { Crypto } from "../../ports/crypto.js";
import type { Transport } from "../../ports/transport.js";
import type { EventSink } from "../events.js";
import { httpError, parseRetryAfter, readCapped } from "./http.js";
import { mirrorEvent, MirrorSet, withMirrors } from "./mirrors.js";
import type { FailoverStep, FaultClass, RetryPolicy } from "./retry.js";

/**
 * Read access to a repository by URL: pointer and root bytes (verified by trust.ts), verified manifest,
 * pack URLs. With several URLs (mirrors, most preferred first) each object fails over on its own.
 */
export class RemoteRepository {
  readonly base: string;
  readonly mirrors: MirrorSet;
  metadataBytes = 0;
  requests = 0;

  constructor(
    urls: string | readonly string[],
    private readonly transport: Transport,
    private readonly crypto: Crypto,
    private readonly retry: Omit<RetryPolicy, "onRetry"> & { readonly emit?: EventSink } = {
      maxAttempts: 1,
      sleep: async () => undefined,
    },
  ) {
    this.mirrors = new MirrorSet((typeof urls === "string" ? [urls] : urls).map(checkedBase));
    this.base = this.mirrors.bases[0]!;
  }

  url(path: string): string {
    return this.mirrors.url(path);
  }

  packUrl(id: string): string {
    return this.url(`packs/${id}.pack`);
  }

  /** After a failed request for `path`: moves it to the next mirror ("next"), or says to back off or give up. */
  failover(path: string, error: unknown, fault?: FaultClass): FailoverStep {
    const cursor = this.mirrors.cursor(path);
    const from = cursor.base;
    const step = cursor.fail(error, fault);
    if (step === "next") this.retry.emit?.(mirrorEvent(path, from, cursor.base, error as FerryError));
    return step;
  }

  private async getBytes(
    path: string,
    cap: number,
    what: string,
    signal?: AbortSignal,
    mirror?: number,
    check?: (bytes: Uint8Array, url: string) => Promise<void>,
  ): Promise<Uint8Array> {
    // Bytes checked against a hash are content-addressed: a mismatch is a transport fault (retry.ts).
    const object = { what: `${what} ${path}`, contentAddressed: check !== undefined };
    const cursor = mirror === undefined ? this.mirrors.cursor(path) : this.mirrors.pinned(mirror);
    const onRetry = (attempt: number, delayMs: number, error: FerryError) =>
      this.retry.emit?.({
        type: "retry",
        url: error.data.url === undefined ? this.mirrors.url(path, cursor.current) : String(error.data.url),
        attempt,
        delayMs,
        code: error.code,
        message: error.message,
      });
    // One mirror asked on its own (each mirror's pointer) gets one attempt: the others answer meanwhile.
    const policy = { ...this.retry, onRetry, ...(mirror === undefined ? {} : { maxAttempts: 1 }) };
    return withMirrors(
      cursor,
      path,
      policy,
      async (url) => {
        this.requests++;
        const response = await this.transport.get(url, signal ? { signal } : {});
        if (response.status !== 200) {
          await response.cancel();
          throw httpError(
            url,
            response.status,
            what,
            parseRetryAfter(response.header("retry-after"), new Date()),
          );
        }
        if (/^\s*text\/html\b/i.test(response.header("content-type") ?? "")) {
          await response.cancel();
          throw new FerryError(
            "E_FORMAT",
            `${url} answered with an HTML page instead of the ${what}: a captive portal, login page or misconfigured host is in the way. Sign in to the network or check the repository URL.`,
            { url, object: what },
          );
        }
        const bytes = await readCapped(response, cap, what);
        this.metadataBytes += bytes.length;
        await check?.(bytes, url);
        return bytes;
      },
      object,
    );
  }

  async pointerBytes(channel: string, signal?: AbortSignal, mirror?: number): Promise<Uint8Array> {
    return this.getBytes(
      `channels/${channel}.json`,
      MAX_POINTER_BYTES,
      `channel pointer '${channel}'`,
      signal,
      mirror,
    );
  }

  async rootBytes(version: number, signal?: AbortSignal, mirror?: number): Promise<Uint8Array> {
    return this.getBytes(
      `root/${version}.json`,
      MAX_ROOT_BYTES,
      `root metadata version ${version}`,
      signal,
      mirror,
    );
  }

  /** The manifest the pointer pins; a mirror serving other bytes is skipped for the next one. */
  async manifestBytes(ref: ManifestRef, signal?: AbortSignal): Promise<Uint8Array> {
    const path = `manifests/${ref.hash}`;
    return this.getBytes(path, ref.size, "release manifest", signal, undefined, (bytes, url) =>
      checkManifestBytes(this.crypto, bytes, ref, url),
    );
  }

  /** A directory or recipe object of a tree release (docs/FORMAT.md §5.2), checked against its ref. */
  async objectBytes(ref: StoredRef, what: string, signal?: AbortSignal): Promise<Uint8Array> {
    // Checked inside the request, so a mirror serving other bytes is skipped for the next one.
    return this.getBytes(objectPath(ref.hash), ref.size, what, signal, undefined, (bytes, url) =>
      checkStoredBytes(this.crypto, bytes, ref, url, what),
    );
  }

  /** A metadata bundle (docs/FORMAT.md §5.4), checked against the tree header's pin inside the request. */
  async bundleBytes(
    ref: { readonly hash: string; readonly size: number },
    signal?: AbortSignal,
  ): Promise<Uint8Array> {
    const what = "metadata bundle";
    return this.getBytes(objectPath(ref.hash), ref.size, what, signal, undefined, (bytes, url) =>
      checkStoredBytes(this.crypto, bytes, ref, url, what, "the tree header that names it"),
    );
  }
}

/** A repository base URL with a trailing slash; http(s) only, without credentials. */
function checkedBase(url: string): string {
  const base = url.endsWith("/") ? url : `${url}/`;
  if (!URL.canParse(base) || !/^https?:$/.test(new URL(base).protocol)) {
    throw new FerryError(
      "E_USAGE",
      `${JSON.stringify(url)} is not an http(s) repository URL, e.g. https://cdn.example.com/mygame/.`,
      { url },
    );
  }
  const parsed = new URL(base);
  if (parsed.username !== "" || parsed.password !== "") {
    // fetch refuses such URLs; and credentials belong in a Transport wrapper tied to one origin.
    throw new FerryError(
      "E_USAGE",
      `The repository URL ${parsed.protocol}//${parsed.host}${parsed.pathname} contains a user name or password. Remove them from the URL; pass credentials through a Transport that adds an Authorization header for that origin.`,
      { url: `${parsed.protocol}//${parsed.host}${parsed.pathname}` },
    );
  }
  return base;
}

/** Verifies stored manifest bytes against the pointer's pin. */
export async function checkManifestBytes(
  crypto: Crypto,
  bytes: Uint8Array,
  ref: ManifestRef,
  where: string,
): Promise<void> {
  await checkStoredBytes(crypto, bytes, ref, where, "release manifest", "the signed pointer");
}

/** Verifies a stored metadata object against the reference that names it. */
export async function checkStoredBytes(
  crypto: Crypto,
  bytes: Uint8Array,
  ref: { readonly hash: string; readonly size: number },
  where: string,
  what: string,
  namedBy = "the release metadata that names it",
): Promise<void> {
  const actual = await crypto.sha256(bytes);
  if (bytes.length !== ref.size || actual !== ref.hash) {
    throw new FerryError(
      "E_HASH_MISMATCH",
      `The ${what} ${where} does not match ${namedBy} (sha256 ${actual}, expected ${ref.hash}). The repository or a cache is corrupt or tampered with.`,
      {
        url: where,
        expected: ref.hash,
        actual,
      },
    );
  }
}

export async function decodeManifest(
  ports: CorePorts,
  bytes: Uint8Array,
  ref: ManifestRef,
  where: string,
): Promise<Manifest> {
  return parseManifest(await decodeManifestJson(ports, bytes, ref, where), `release manifest ${where}`);
}

/** The pinned manifest document (inline manifest or tree header), checked and decoded, not yet validated. */
export async function decodeManifestJson(
  ports: CorePorts,
  bytes: Uint8Array,
  ref: ManifestRef,
  where: string,
): Promise<unknown> {
  await checkManifestBytes(ports.crypto, bytes, ref, where);
  checkMetadataRatio(ref.size, ref.rawSize, `release manifest ${where}`);
  const raw = decode(ports.brotli, ref.codec, bytes, ref.rawSize, `release manifest ${where}`);
  return parseJson(`release manifest ${where}`, raw);
}
