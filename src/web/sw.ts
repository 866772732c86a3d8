/**
 * The service worker (dist/web/ferry-sw.js, registered as `ferry-sw.js?app=<app>`): serves the files of
 * a page's release at `<scope>game/<path>` from storage, and answers `<scope>ferry/session`. It is the
 * same script for every release (the runtime, not the game), so installing a release never replaces it.
 *
 * Sessions: each client (page) is pinned to the release current when it first asks, and keeps it until
 * it reloads (a new client): an update never mixes files in a running game. Pins are kept in IndexedDB
 * (a stopped worker forgets its memory) and dropped once their client is gone. A file of the pinned
 * release that is not stored (optional package, lazy, evicted) is fetched on demand, verified, stored.
 * Updates themselves never run here: browsers stop idle workers.
 */
import { FerryError, isFerryError } from "../core/errors.js";
import type { FileEntry } from "../core/manifest.js";
import { fetchTransport } from "../browser/fetch-transport.js";
import { browserClock, browserHost, storageAvailable } from "../browser/browser-ports.js";
import { OpfsFileSystem } from "../browser/opfs-fs.js";
import { loadBrotli } from "../browser/wasm-brotli.js";
import { webCrypto } from "../browser/web-crypto.js";
import { clearStaging, type EngineDeps, parseStoredManifest, repository, storeFiles } from "./engine.js";
import { collectGarbage, writerLockName } from "./gc.js";
import { objectLayout, privateLayout, WebStore } from "./store.js";
import { trustFromJson } from "./trust-json.js";
import type { ServiceWorkerScope } from "./sw-types.js";
import { contentType } from "./content-type.js";

declare const self: ServiceWorkerScope;

const app = new URL(self.location.href).searchParams.get("app") ?? "";
const store = new WebStore(app);
const fs = new OpfsFileSystem();
const crypto = webCrypto();
const pins = new Map<string, string>();
const releases = new Map<string, { version: string; files: Map<string, FileEntry>; all: FileEntry[] }>();

self.addEventListener("install", (event) => event.waitUntil(self.skipWaiting()));
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin || event.request.method !== "GET") return;
  const scope = new URL(self.registration.scope).pathname;
  if (!url.pathname.startsWith(scope)) return;
  const rest = url.pathname.slice(scope.length);
  const client = event.clientId || event.resultingClientId;
  if (rest === "ferry/session") event.respondWith(session(client));
  else if (rest.startsWith("game/")) event.respondWith(serve(client, rest.slice(5), event.request));
});

self.addEventListener("message", (event) => {
  const data = event.data as { type?: string; app?: string } | null;
  if (data?.type === "ferry-gc" && data.app === app) event.waitUntil(collect().catch(() => undefined));
});

/** The release `client` reads: its pin, else the current release (which it is then pinned to). */
async function pinned(client: string): Promise<string | undefined> {
  const known = pins.get(client) ?? (client ? (await store.pin(client))?.manifestHash : undefined);
  if (known) {
    pins.set(client, known);
    return known;
  }
  const current = (await store.current())?.manifestHash;
  if (current && client) {
    pins.set(client, current);
    await store.setPin({ clientId: client, manifestHash: current, at: Date.now() });
  }
  return current;
}

async function session(client: string): Promise<Response> {
  const manifestHash = (await pinned(client)) ?? null;
  return Response.json({
    manifestHash,
    version: manifestHash ? (await release(manifestHash))?.version : null,
  });
}

async function release(hash: string) {
  let known = releases.get(hash);
  if (!known) {
    const record = await store.release(hash);
    if (!record) return undefined;
    const all = [...parseStoredManifest(record).files];
    known = { version: record.version, files: new Map(all.map((f) => [f.path, f])), all };
    releases.set(hash, known);
  }
  return known;
}

async function serve(client: string, encoded: string, request: Request): Promise<Response> {
  try {
    let path: string;
    try {
      path = decodeURIComponent(encoded);
    } catch {
      return notFound(encoded, "is not a valid path");
    }
    const hash = await pinned(client);
    if (!hash) return notFound(path, "cannot be served: nothing is installed yet");
    const known = await release(hash);
    const file = known?.files.get(path);
    if (!known || !file) return notFound(path, `is not a file of release ${known?.version ?? hash}`);
    const object = objectLayout(app).file(file.sha256);
    if (!(await fs.stat(object))) await onDemand(hash, file, known.all);
    const blob = new Blob([(await fs.readFile(object)) as Uint8Array<ArrayBuffer>]);
    const headers = {
      "content-type": contentType(path),
      "cache-control": "no-cache",
      etag: `"${file.sha256}"`,
      "x-ferry-release": known.version,
      "accept-ranges": "bytes",
    };
    const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.get("range") ?? "");
    if (range) {
      const start = Number(range[1]);
      const end = range[2] === "" ? blob.size - 1 : Math.min(Number(range[2]), blob.size - 1);
      if (start > end)
        return new Response(null, { status: 416, headers: { "content-range": `bytes */${blob.size}` } });
      return new Response(blob.slice(start, end + 1), {
        status: 206,
        headers: { ...headers, "content-range": `bytes ${start}-${end}/${blob.size}` },
      });
    }
    return new Response(blob, { status: 200, headers: { ...headers, "content-length": String(blob.size) } });
  } catch (error) {
    const code = isFerryError(error) ? error.code : "E_INTERNAL";
    const message = error instanceof Error ? error.message : String(error);
    return new Response(`${code}: ${message}\n`, {
      status: 502,
      headers: { "content-type": "text/plain; charset=utf-8", "x-ferry-error": code },
    });
  }
}

function notFound(path: string, why: string): Response {
  return new Response(`${path} ${why}.\n`, {
    status: 404,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}

let deps: Promise<EngineDeps> | undefined;

/** The engine, configured from what the page stored (repository, channel, trust). */
function engine(): Promise<EngineDeps> {
  return (deps ??= (async () => {
    const config = await store.config();
    if (!config) throw new FerryError("E_NOT_INSTALLED", `No runtime configuration is stored for ${app}.`);
    return {
      app,
      repoUrl: config.repoUrl,
      channel: config.channel,
      trust: await trustFromJson(config.trust, crypto),
      store,
      fs,
      transport: fetchTransport,
      crypto,
      brotli: await loadBrotli(),
      clock: browserClock,
      host: browserHost,
      maxAttempts: 3,
      available: storageAvailable,
    };
  })());
}

/** Fetches one file of a pinned release (its chunks only), in a staging folder of its own. */
async function onDemand(hash: string, file: FileEntry, all: readonly FileEntry[]): Promise<void> {
  const e = await engine();
  const record = await store.release(hash);
  if (!record) throw new FerryError("E_NOT_INSTALLED", `Release ${hash} is no longer stored.`);
  const layout = privateLayout(app, browserHost.randomId(6));
  const op = { emit: () => undefined, signal: undefined };
  try {
    await storeFiles(e, op, repository(e, op), parseStoredManifest(record), [file], all, layout);
  } finally {
    await clearStaging(e, layout).catch(() => undefined);
  }
}

/** Collection with every live session known: pins of live clients and locks of pages. */
async function collect(): Promise<void> {
  const e = await engine();
  await navigator.locks.request(writerLockName(app), { ifAvailable: true }, async (lock) => {
    if (!lock) return; // an update runs: its own commit asks again
    const live = new Set(
      (await self.clients.matchAll({ includeUncontrolled: true, type: "all" })).map((c) => c.id),
    );
    const all = await store.pins();
    const dead = all.filter((p) => !live.has(p.clientId));
    await store.deletePins(dead.map((p) => p.clientId));
    for (const p of dead) pins.delete(p.clientId);
    await collectGarbage(e, new Set(all.filter((p) => live.has(p.clientId)).map((p) => p.manifestHash)));
    releases.clear();
  });
}
