import { FerryError, isFerryError } from "../core/errors.js";
import type { FerryErrorCode } from "../core/errors.js";
import type { LifecycleState } from "../core/lifecycle.js";
import { RateMeter } from "../core/lifecycle.js";
import type { Manifest } from "../core/manifest.js";
import { requireKnownPackages, requireKnownPaths } from "../core/selection.js";
import type { UpdateEvent } from "../client/events.js";
import { anchorKeyids, type TrustAnchor } from "../client/remote/trust.js";
import { fetchTransport } from "../browser/fetch-transport.js";
import { browserClock, browserHost, storageAvailable } from "../browser/browser-ports.js";
import { OpfsFileSystem } from "../browser/opfs-fs.js";
import { loadBrotli } from "../browser/wasm-brotli.js";
import { webCrypto } from "../browser/web-crypto.js";
import {
  type CheckResult,
  clearStaging,
  type EngineDeps,
  loadManifest,
  type Op,
  parseStoredManifest,
  releaseRecord,
  repository,
  resolvePointer,
  selectedFiles,
  storedObjects,
  storeFiles,
  type UpdateSummary,
} from "./engine.js";
import { collectGarbage, releaseLockName, writerLockName } from "./gc.js";
import { objectLayout, WebStore } from "./store.js";
import { type TrustJson, trustFromJson, trustToJson } from "./trust-json.js";

export type { CheckResult, UpdateSummary } from "./engine.js";

export interface FerryWebOptions {
  /** The repository's base URL (another origin needs CORS: docs/WEB.md "Hosting"). */
  readonly repoUrl: string;
  readonly channel?: string;
  /** Root keys or a shipped root, as the Node client's trust (or its JSON form, trust-json.ts). */
  readonly trust: TrustAnchor | TrustJson;
  /** Storage name (IndexedDB database, OPFS folder); default the repository URL and channel. */
  readonly app?: string;
  /** Attempts per request (default 5). */
  readonly maxAttempts?: number;
  /** The release this session reads (default: asked of the service worker, else the current one). */
  readonly session?: string | null;
  /** Replace ports (tests). */
  readonly ports?: Partial<
    Pick<EngineDeps, "transport" | "crypto" | "brotli" | "clock" | "fs" | "available">
  >;
}

/** Events the runtime emits: lifecycle state and progress (for the update screen), library events. */
export type FerryWebEvent =
  | {
      readonly type: "state";
      readonly state: LifecycleState;
      readonly previous: LifecycleState;
      readonly at: string;
      readonly error?: { readonly code: string; readonly message: string };
    }
  | {
      readonly type: "progress";
      readonly phase: "downloading" | "applying";
      readonly bytesDone: number;
      readonly bytesTotal: number;
      readonly filesDone: number;
      readonly filesTotal: number;
      readonly bytesPerSecond: number | undefined;
      readonly etaSeconds: number | undefined;
    }
  | ({ readonly type: "check" } & CheckResult)
  | { readonly type: "installed"; readonly version: string; readonly simulated: false }
  | { readonly type: "library"; readonly event: UpdateEvent }
  /** Unused objects and release records removed after a commit (in the page; the worker's are silent). */
  | { readonly type: "collected"; readonly objects: number; readonly releases: number }
  | { readonly type: "collect-failed"; readonly error: { readonly code: string; readonly message: string } };

export interface FerryStatus {
  readonly version: string;
  readonly manifestHash: string;
  readonly serial: number;
  readonly channel: string;
  readonly committedAt: string;
  readonly files: number;
  readonly packages: readonly string[];
  /** The release this page reads (its session), which stays until it reloads. */
  readonly session: { readonly version: string; readonly manifestHash: string } | null;
  /** Persistent storage granted (navigator.storage.persist()); false: eviction may empty the cache. */
  readonly persisted: boolean;
}

export interface UpdateOptions {
  /** Wait for another tab's update to end instead of failing with E_BUSY. */
  readonly wait?: boolean;
}

const PAUSED = "ferry:paused";

/** Creates the runtime for one repository (loads the brotli decoder, opens storage). */
export async function createFerry(options: FerryWebOptions): Promise<FerryWeb> {
  const crypto = options.ports?.crypto ?? webCrypto();
  const trust = isAnchor(options.trust) ? options.trust : await trustFromJson(options.trust, crypto);
  const channel = options.channel ?? "stable";
  const app = options.app ?? `${options.repoUrl}#${channel}`;
  const store = new WebStore(app);
  const deps: EngineDeps = {
    app,
    repoUrl: options.repoUrl,
    channel,
    trust,
    store,
    fs: options.ports?.fs ?? new OpfsFileSystem(),
    transport: options.ports?.transport ?? fetchTransport,
    crypto,
    brotli: options.ports?.brotli ?? (await loadBrotli()),
    clock: options.ports?.clock ?? browserClock,
    host: browserHost,
    maxAttempts: options.maxAttempts ?? 5,
    available: options.ports?.available ?? storageAvailable,
  };
  await store.setConfig({ repoUrl: options.repoUrl, channel, trust: trustToJson(trust) });
  // Ask to be kept: without it the browser may evict the site's storage under pressure (docs/WEB.md).
  // A refusal is an answer, not a failure: status() reports it.
  const persisted = (await navigator.storage?.persist?.()) ?? false;
  const ferry = new FerryWeb(deps, persisted);
  await ferry.startSession(options.session === undefined ? await askServiceWorker(app) : options.session);
  return ferry;
}

/** The release the service worker pinned for this page, or undefined without a controlling worker. */
async function askServiceWorker(app: string): Promise<string | null | undefined> {
  if (!globalThis.navigator?.serviceWorker?.controller) return undefined;
  const response = await fetch(`/ferry/session?app=${encodeURIComponent(app)}`);
  if (!response.ok) return undefined;
  const body = (await response.json()) as { manifestHash: string | null };
  return body.manifestHash;
}

export class FerryWeb {
  private readonly listeners = new Set<(event: FerryWebEvent) => void>();
  private state: LifecycleState = "idle";
  private controller: AbortController | undefined;
  /** Set while paused: resolves true to cancel, false to resume. */
  private resumed: ((cancel: boolean) => void) | undefined;
  private session: { manifestHash: string; manifest: Manifest } | undefined;
  private releaseSessionLock: (() => void) | undefined;

  constructor(
    readonly deps: EngineDeps,
    /** Whether the browser granted persistent storage (else the site's data may be evicted). */
    readonly persisted = false,
  ) {}

  /** Subscribes to events; returns the unsubscribe function. */
  on(listener: (event: FerryWebEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: FerryWebEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private setState(state: LifecycleState, error?: unknown): void {
    const previous = this.state;
    this.state = state;
    this.emit({
      type: "state",
      state,
      previous,
      at: new Date().toISOString(),
      ...(error === undefined ? {} : { error: errorInfo(error) }),
    });
  }

  /** @internal Pins the session to `manifestHash` (or the current release) and holds its lock. */
  async startSession(manifestHash: string | null | undefined): Promise<void> {
    const hash = manifestHash === undefined ? (await this.deps.store.current())?.manifestHash : manifestHash;
    if (!hash) return;
    const record = await this.deps.store.release(hash);
    if (!record) return;
    this.releaseSessionLock?.();
    this.session = { manifestHash: hash, manifest: parseStoredManifest(record) };
    if (globalThis.navigator?.locks) {
      await new Promise<void>((granted) => {
        void navigator.locks.request(releaseLockName(this.deps.app, hash), { mode: "shared" }, () => {
          granted();
          return new Promise<void>((release) => (this.releaseSessionLock = release));
        });
      });
    }
  }

  async status(): Promise<FerryStatus | null> {
    const current = await this.deps.store.current();
    if (!current) return null;
    const record = await this.deps.store.release(current.manifestHash);
    return {
      version: current.version,
      manifestHash: current.manifestHash,
      serial: current.serial,
      channel: current.channel,
      committedAt: current.committedAt,
      files: record ? parseStoredManifest(record).files.length : 0,
      packages: current.packages,
      session: this.session
        ? { version: this.session.manifest.version, manifestHash: this.session.manifestHash }
        : null,
      persisted: this.persisted,
    };
  }

  private op(signal?: AbortSignal): Op {
    const meter = new RateMeter();
    return {
      signal,
      emit: (event) => {
        this.emit({ type: "library", event });
        if (event.type === "assemble") {
          this.emit({
            type: "progress",
            phase: "applying",
            bytesDone: 0,
            bytesTotal: 0,
            filesDone: event.done,
            filesTotal: event.total,
            bytesPerSecond: undefined,
            etaSeconds: undefined,
          });
        }
        if (event.type === "download") {
          meter.add(Date.now(), event.bytes);
          this.emit({
            type: "progress",
            phase: "downloading",
            bytesDone: event.bytes,
            bytesTotal: event.totalBytes,
            filesDone: 0,
            filesTotal: 0,
            bytesPerSecond: meter.bytesPerSecond(),
            etaSeconds: meter.etaSeconds(event.totalBytes),
          });
        }
      },
    };
  }

  async check(): Promise<CheckResult> {
    this.setState("checking");
    try {
      const op = this.op();
      const repo = repository(this.deps, op);
      const current = await this.deps.store.current();
      const chosen = await resolvePointer(this.deps, op, repo, current);
      const available = chosen.ref.hash !== current?.manifestHash;
      const manifest = available ? await loadManifest(this.deps, op, repo, chosen.ref, undefined) : undefined;
      const result: CheckResult = {
        available,
        version: chosen.version,
        installed: current?.version ?? null,
        serial: chosen.pointer.body.serial,
        manifestHash: chosen.ref.hash,
        mandatory: chosen.pointer.body.mandatory === true,
        ...(manifest?.notes === undefined ? {} : { notes: manifest.notes }),
      };
      this.emit({ type: "check", ...result });
      this.setState(available ? "available" : "up-to-date");
      return result;
    } catch (error) {
      this.setState("failed", error);
      throw error;
    }
  }

  /** Installs the channel's release (one writer across tabs), then collects unused objects. */
  async update(options: UpdateOptions = {}): Promise<UpdateSummary> {
    const summary = await this.installing(options.wait === true);
    if (summary.updated) await this.collect();
    return summary;
  }

  private installing(wait: boolean): Promise<UpdateSummary> {
    return this.writing(wait, async () => {
      for (;;) {
        this.controller = new AbortController();
        this.setState(this.state === "paused" ? "downloading" : "checking");
        try {
          const summary = await this.install(this.controller.signal);
          this.setState("done");
          if (summary.updated) this.emit({ type: "installed", version: summary.version, simulated: false });
          return summary;
        } catch (caught) {
          const reason: unknown = this.controller.signal.reason;
          let error = reason instanceof FerryError ? reason : caught;
          if (this.controller.signal.reason === PAUSED) {
            this.setState("paused");
            const cancelled = await new Promise<boolean>((settle) => (this.resumed = settle));
            if (!cancelled) continue;
            error = new FerryError(
              "E_ABORTED",
              "The update was cancelled while paused; the stored release is unchanged.",
            );
          }
          this.setState(isFerryError(error, "E_ABORTED") ? "cancelled" : "failed", error);
          throw error;
        } finally {
          this.controller = undefined;
        }
      }
    });
  }

  private async install(signal: AbortSignal): Promise<UpdateSummary> {
    const op = this.op(signal);
    const deps = this.deps;
    const repo = repository(deps, op);
    const current = await deps.store.current();
    const chosen = await resolvePointer(deps, op, repo, current);
    const from = current?.version ?? null;
    const base = { from, metadataBytes: 0, requests: 0, files: 0, deltas: 0, writtenBytes: 0, bytes: 0 };
    if (current && chosen.ref.hash === current.manifestHash) {
      // Same release: only a newer pointer is recorded (it raises the rollback floor).
      if (chosen.pointer.body.serial > current.serial) {
        await deps.store.setCurrent({
          ...current,
          serial: chosen.pointer.body.serial,
          trust: { ...current.trust, root: chosen.root, pointer: chosen.pointer.document },
        });
      }
      return {
        ...base,
        updated: false,
        version: current.version,
        metadataBytes: repo.metadataBytes,
        requests: repo.requests,
      };
    }
    const manifest = await loadManifest(deps, op, repo, chosen.ref, current?.manifestHash);
    const packages = current?.packages ?? [];
    const target = selectedFiles(manifest, packages);
    const old = current ? await deps.store.release(current.manifestHash) : undefined;
    this.setState("downloading");
    const stored = await storeFiles(
      deps,
      op,
      repo,
      manifest,
      target.files,
      old ? parseStoredManifest(old).files : [],
    );
    this.setState("applying");
    await deps.store.commit(releaseRecord(chosen.ref.hash, manifest), {
      manifestHash: chosen.ref.hash,
      version: manifest.version,
      serial: chosen.pointer.body.serial,
      channel: deps.channel,
      trust: {
        root: chosen.root,
        trustedKeys: current?.trust.trustedKeys ?? anchorKeyids(deps.trust, chosen.trusted),
        pointer: chosen.pointer.document,
      },
      committedAt: new Date().toISOString(),
      installId: current?.installId ?? (await deps.store.installId(() => deps.host.randomId(16))),
      packages,
    });
    // After the commit only: staging now; unused objects once the writer lock is free (update()).
    await clearStaging(deps);
    if (!this.session) await this.startSession(chosen.ref.hash);
    return {
      updated: true,
      version: manifest.version,
      from,
      bytes: stored.bytes,
      metadataBytes: repo.metadataBytes,
      requests: repo.requests + stored.requests,
      files: stored.files,
      deltas: stored.deltas,
      writtenBytes: stored.writtenBytes,
    };
  }

  /**
   * Collection runs where all sessions are known: the service worker when one controls the page (it
   * knows its clients' pins), else here. The update has succeeded either way: a failure to collect is
   * reported as an event, and the next commit collects again.
   */
  private async collect(): Promise<void> {
    const worker = globalThis.navigator?.serviceWorker?.controller;
    if (worker) {
      worker.postMessage({ type: "ferry-gc", app: this.deps.app });
      return;
    }
    try {
      const removed = await this.writing(true, () =>
        collectGarbage(this.deps, new Set(this.session ? [this.session.manifestHash] : [])),
      );
      this.emit({ type: "collected", ...removed });
    } catch (error) {
      this.emit({ type: "collect-failed", error: errorInfo(error) });
    }
  }

  private async writing<T>(wait: boolean, work: () => Promise<T>): Promise<T> {
    if (!globalThis.navigator?.locks) return work();
    const name = writerLockName(this.deps.app);
    return navigator.locks.request(name, wait ? {} : { ifAvailable: true }, async (lock) => {
      if (!lock) {
        throw new FerryError(
          "E_BUSY",
          `Another tab or worker of this game is updating it (Web Lock ${name} is held). Wait for it to finish, or pass {wait: true}.`,
          { running: "update" },
        );
      }
      return work();
    });
  }

  cancel(): void {
    const paused = this.resumed;
    this.resumed = undefined;
    if (paused) return paused(true);
    this.controller?.abort(
      new FerryError("E_ABORTED", "The update was cancelled; the stored release is unchanged."),
    );
  }

  pause(): void {
    if (this.state === "downloading" || this.state === "checking") this.controller?.abort(PAUSED);
  }

  resume(): void {
    const paused = this.resumed;
    this.resumed = undefined;
    paused?.(false);
  }

  /** The session's (else the current) release, or E_NOT_INSTALLED. */
  private async release(): Promise<{ manifestHash: string; manifest: Manifest }> {
    if (!this.session) await this.startSession(undefined);
    if (!this.session) {
      throw new FerryError("E_NOT_INSTALLED", "Nothing is installed yet: call update() first.", {});
    }
    return this.session;
  }

  /** The files of this page's release, and whether each one's content is stored. */
  async files(): Promise<{ path: string; size: number; sha256: string; package: string; stored: boolean }[]> {
    const { manifest } = await this.release();
    const stored = await storedObjects(this.deps);
    return manifest.files.map((f) => ({
      path: f.path,
      size: f.size,
      sha256: f.sha256,
      package: f.package,
      stored: stored.has(f.sha256),
    }));
  }

  /** Paths of the session's release (all packages, or those given) whose contents are not stored. */
  async missing(paths?: readonly string[]): Promise<string[]> {
    const { manifest } = await this.release();
    const files = paths ? requireKnownPaths(manifest, paths) : manifest.files;
    const stored = await storedObjects(this.deps);
    return files.filter((f) => !stored.has(f.sha256)).map((f) => f.path);
  }

  /** Fetches, verifies and stores the given files of the session's release (exactly their chunks). */
  async ensure(paths: readonly string[]): Promise<{ files: number; bytes: number }> {
    const { manifest } = await this.release();
    const files = requireKnownPaths(manifest, paths);
    return this.writing(true, async () => {
      const op = this.op();
      const stored = await storeFiles(
        this.deps,
        op,
        repository(this.deps, op),
        manifest,
        files,
        manifest.files,
      );
      return { files: stored.files, bytes: stored.bytes };
    });
  }

  /** The bytes of `path` in the session's release, fetched on demand when not stored (or evicted). */
  async read(path: string): Promise<Uint8Array> {
    const { manifest } = await this.release();
    const [file] = requireKnownPaths(manifest, [path]);
    const layout = objectLayout(this.deps.app);
    if (!(await this.deps.fs.stat(layout.file(file!.sha256)))) await this.ensure([path]);
    return this.deps.fs.readFile(layout.file(file!.sha256));
  }

  /** Optional packages (docs/PACKAGES.md): added ones are installed now and kept by later updates. */
  readonly packages = {
    list: async (): Promise<{ name: string; optional: boolean; installed: boolean }[]> => {
      const { manifest } = await this.release();
      const current = await this.deps.store.current();
      return Object.entries(manifest.packages).map(([name, p]) => ({
        name,
        optional: p.optional,
        installed: !p.optional || (current?.packages ?? []).includes(name),
      }));
    },
    add: async (names: readonly string[]): Promise<{ files: number; bytes: number }> => {
      const { manifest } = await this.release();
      requireKnownPackages(manifest, names);
      const paths = manifest.files.filter((f) => names.includes(f.package)).map((f) => f.path);
      const result = await this.ensure(paths);
      await this.setPackages((have) => [...new Set([...have, ...names])].sort());
      return result;
    },
    remove: async (names: readonly string[]): Promise<void> => {
      // Their objects go with the next update's collection (the current release still lists them).
      await this.setPackages((have) => have.filter((n) => !names.includes(n)));
    },
  };

  private async setPackages(change: (have: readonly string[]) => string[]): Promise<void> {
    await this.writing(true, async () => {
      const current = await this.deps.store.current();
      if (current) await this.deps.store.setCurrent({ ...current, packages: change(current.packages) });
    });
  }
}

/** A decoded anchor (keys as PublicKey objects, root as bytes), not its JSON form. */
function isAnchor(trust: TrustAnchor | TrustJson): trust is TrustAnchor {
  return trust.kind === "root" ? "bytes" in trust : typeof trust.keys[0] === "object";
}

function errorInfo(error: unknown): { code: FerryErrorCode | "E_INTERNAL"; message: string } {
  return isFerryError(error)
    ? { code: error.code, message: error.message }
    : { code: "E_INTERNAL", message: String((error as Error)?.message ?? error) };
}
