import { FerryError } from "../core/errors.js";
import type { StoredTrust } from "../client/remote/trust.js";
import { InstallLayout } from "../client/install/layout.js";

/**
 * The browser runtime's storage (docs/WEB.md "Storage and commit"). File contents live in OPFS under
 * `ferry-<app>/objects/<sha256>`, written under a temporary name and moved there only once verified,
 * never rewritten. Everything else is in the IndexedDB database `ferry:<app>`:
 *
 * - `releases`: one record per stored release (its manifest with every file), keyed by manifest hash;
 * - `state`: `current` (the installed release and what the install trusts) and `config` (what the
 *   service worker needs to fetch on demand);
 * - `pins`: which release each service-worker client (page) reads until it reloads.
 *
 * Commit is one IndexedDB transaction over `releases` and `state` that writes the new release record
 * and flips `current`: after any interruption `current` names the old release or the new one, and
 * every object the named release needs was stored before the transaction began.
 */
export interface CurrentRecord {
  readonly manifestHash: string;
  readonly version: string;
  readonly serial: number;
  readonly channel: string;
  readonly trust: StoredTrust;
  readonly committedAt: string;
  /** The install's random id (rollout buckets), made at the first install. */
  readonly installId: string;
  /** Optional packages the player added (docs/PACKAGES.md); the default ones are always installed. */
  readonly packages: readonly string[];
}

export interface ReleaseRecord {
  readonly manifestHash: string;
  readonly version: string;
  /** manifestToJson of the materialized release (all files, tree layouts flattened). */
  readonly manifest: unknown;
}

export interface ConfigRecord {
  readonly repoUrl: string;
  readonly channel: string;
  /** The trust anchor as JSON (see trust-json.ts). */
  readonly trust: unknown;
}

export interface PinRecord {
  readonly clientId: string;
  readonly manifestHash: string;
  readonly at: number;
}

type StoreName = "releases" | "state" | "pins";

/** The storage names of one app (repository + channel by default). */
export function appKey(app: string): { db: string; dir: string } {
  return { db: `ferry:${app}`, dir: `ferry-${encodeURIComponent(app)}` };
}

/** The OPFS layout: objects are the "install root", staging is its `.ferry/staging` (client layout). */
export function objectLayout(app: string): InstallLayout {
  return new InstallLayout(`/${appKey(app).dir}/objects`);
}

/**
 * The same objects with a staging folder of its own (`.ferry/staging-<id>`): for a writer that runs
 * beside the updater (the service worker storing a file on demand), so their staged files never meet.
 */
export function privateLayout(app: string, id: string): InstallLayout {
  const root = `/${appKey(app).dir}/objects`;
  return new (class extends InstallLayout {
    override get staging(): string {
      return `${root}/.ferry/staging-${id}`;
    }
  })(root);
}

export const OBJECT_NAME = /^[0-9a-f]{64}$/;

export class WebStore {
  private db: Promise<IDBDatabase> | undefined;

  constructor(readonly app: string) {}

  private open(): Promise<IDBDatabase> {
    return (this.db ??= new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open(appKey(this.app).db, 1);
      request.onupgradeneeded = () => {
        const db = request.result;
        db.createObjectStore("releases", { keyPath: "manifestHash" });
        db.createObjectStore("state");
        db.createObjectStore("pins", { keyPath: "clientId" });
      };
      request.onsuccess = () => {
        const db = request.result;
        db.onversionchange = () => db.close();
        resolve(db);
      };
      request.onerror = () => reject(idbError("open", appKey(this.app).db, request.error));
      request.onblocked = () =>
        reject(
          new FerryError(
            "E_LOCKED",
            `The storage database ${appKey(this.app).db} is held open by an older version of this page in another tab. Close the other tabs of the game and reload.`,
          ),
        );
    }));
  }

  private async run<T>(
    names: readonly StoreName[],
    mode: IDBTransactionMode,
    work: (tx: IDBTransaction) => IDBRequest<T> | undefined,
  ): Promise<T | undefined> {
    const db = await this.open();
    return new Promise<T | undefined>((resolve, reject) => {
      let tx: IDBTransaction;
      try {
        tx = db.transaction(names as StoreName[], mode, { durability: "strict" });
      } catch (cause) {
        reject(idbError(mode, names.join(","), cause));
        return;
      }
      const request = work(tx);
      tx.oncomplete = () => resolve(request?.result);
      tx.onabort = () => reject(idbError(mode, names.join(","), tx.error));
      tx.onerror = () => undefined; // reported by onabort
    });
  }

  async current(): Promise<CurrentRecord | undefined> {
    return this.run<CurrentRecord>(["state"], "readonly", (tx) => tx.objectStore("state").get("current"));
  }

  async config(): Promise<ConfigRecord | undefined> {
    return this.run<ConfigRecord>(["state"], "readonly", (tx) => tx.objectStore("state").get("config"));
  }

  async setConfig(config: ConfigRecord): Promise<void> {
    await this.run(["state"], "readwrite", (tx) => tx.objectStore("state").put(config, "config"));
  }

  /** This install's random id (rollout buckets), made once and kept: `make` gives a new one. */
  async installId(make: () => string): Promise<string> {
    const known = await this.run<string>(["state"], "readonly", (tx) =>
      tx.objectStore("state").get("installId"),
    );
    if (typeof known === "string") return known;
    const id = make();
    // add(), not put(): when two tabs race, the first id wins and the loser reads it back.
    await this.run(["state"], "readwrite", (tx) => tx.objectStore("state").add(id, "installId")).catch(
      (error: unknown) => {
        if ((error as { cause?: { name?: string } }).cause?.name !== "ConstraintError") throw error;
      },
    );
    const stored = await this.run<string>(["state"], "readonly", (tx) =>
      tx.objectStore("state").get("installId"),
    );
    return typeof stored === "string" ? stored : id;
  }

  async release(manifestHash: string): Promise<ReleaseRecord | undefined> {
    return this.run<ReleaseRecord>(["releases"], "readonly", (tx) =>
      tx.objectStore("releases").get(manifestHash),
    );
  }

  async releaseHashes(): Promise<string[]> {
    const keys = await this.run<IDBValidKey[]>(["releases"], "readonly", (tx) =>
      tx.objectStore("releases").getAllKeys(),
    );
    return (keys ?? []).map(String);
  }

  /** THE commit: the release record and the flip of `current`, in one transaction. */
  async commit(release: ReleaseRecord, current: CurrentRecord): Promise<void> {
    await this.run(["releases", "state"], "readwrite", (tx) => {
      tx.objectStore("releases").put(release);
      return tx.objectStore("state").put(current, "current");
    });
  }

  /** Updates what `current` records without changing the release (a newer pointer, packages). */
  async setCurrent(current: CurrentRecord): Promise<void> {
    await this.run(["state"], "readwrite", (tx) => tx.objectStore("state").put(current, "current"));
  }

  async deleteReleases(hashes: readonly string[]): Promise<void> {
    if (hashes.length === 0) return;
    await this.run(["releases"], "readwrite", (tx) => {
      for (const hash of hashes) tx.objectStore("releases").delete(hash);
      return undefined;
    });
  }

  async pin(clientId: string): Promise<PinRecord | undefined> {
    return this.run<PinRecord>(["pins"], "readonly", (tx) => tx.objectStore("pins").get(clientId));
  }

  async pins(): Promise<PinRecord[]> {
    return (await this.run<PinRecord[]>(["pins"], "readonly", (tx) => tx.objectStore("pins").getAll())) ?? [];
  }

  async setPin(pin: PinRecord): Promise<void> {
    await this.run(["pins"], "readwrite", (tx) => tx.objectStore("pins").put(pin));
  }

  async deletePins(clientIds: readonly string[]): Promise<void> {
    if (clientIds.length === 0) return;
    await this.run(["pins"], "readwrite", (tx) => {
      for (const id of clientIds) tx.objectStore("pins").delete(id);
      return undefined;
    });
  }
}

function idbError(operation: string, what: string, cause: unknown): FerryError {
  const name = (cause as { name?: string } | null)?.name ?? "Error";
  if (name === "QuotaExceededError") {
    return new FerryError(
      "E_NO_SPACE",
      `The browser's storage quota for this site is used up (IndexedDB ${what}): the transaction was rolled back, the stored release is unchanged. Free space or ask for persistent storage, then update again.`,
      { path: what, needed: 0, available: 0 },
      { cause },
    );
  }
  return new FerryError(
    "E_IO",
    `IndexedDB ${operation} of ${what} failed (${name}: ${(cause as Error | null)?.message ?? String(cause)}). The site's storage may be blocked (private window) or cleared.`,
    { path: what, operation },
    { cause },
  );
}
