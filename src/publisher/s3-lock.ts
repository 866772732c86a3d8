import { isFerryError } from "../core/errors.js";
import {
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_STALE_MS,
  LOCK_FILE,
  type LockHolder,
  type LockOptions,
  lockedError,
  newHolder,
  parseHolder,
  type RepoLock,
} from "./repo-lock.js";

/** What the lock needs of an S3 store (ConditionalStore has it): conditional writes on one object. */
export interface ConditionalStore {
  readonly location: string;
  readTagged(path: string): Promise<{ data: Uint8Array; tag: string; modified?: Date } | undefined>;
  head(path: string): Promise<{ size: number; modified?: Date } | undefined>;
  /** Writes when the object's ETag is `expected` (null: when it does not exist); the new ETag. */
  putIf(path: string, data: Uint8Array, expected: string | null): Promise<string>;
  delete(path: string): Promise<void>;
}

/**
 * The lock of an S3 repository: the object `.ferry-lock`, created with If-None-Match: * (one creator
 * wins), refreshed every heartbeat with If-Match on its own ETag, and taken over when its LastModified is
 * older than staleMs with If-Match on the stale ETag (one taker wins). On a store that ignores conditional
 * writes this is advisory only (docs/HOSTING.md "Concurrent writers").
 */
export async function lockS3(
  store: ConditionalStore,
  command: string,
  options: LockOptions = {},
): Promise<RepoLock> {
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  const holder = newHolder(command);
  const body = new TextEncoder().encode(`${JSON.stringify(holder)}\n`);
  const lockPath = `${store.location.replace(/\/$/, "")}/${LOCK_FILE}`;
  const created = await claim(store, body, null);
  let tag = created;
  if (tag === undefined) {
    const current = await store.readTagged(LOCK_FILE);
    if (current) {
      const other = parseHolder(current.data);
      const age = current.modified ? Date.now() - current.modified.getTime() : 0;
      if (age <= staleMs) throw lockedError(store.location, other, lockPath);
      tag = await claim(store, body, current.tag);
      if (tag === undefined) throw lockedError(store.location, other, lockPath);
    } else {
      tag = await claim(store, body, null); // released meanwhile: one more try
      if (tag === undefined) throw lockedError(store.location, undefined, lockPath);
    }
  }
  const storeTime = (await store.head(LOCK_FILE))?.modified;
  return new S3Lock(
    store,
    holder,
    body,
    tag,
    options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
    lockPath,
    storeTime,
  );
}

/** The new lock's tag, or undefined when another writer's write won. */
async function claim(
  store: ConditionalStore,
  body: Uint8Array,
  expected: string | null,
): Promise<string | undefined> {
  try {
    return await store.putIf(LOCK_FILE, body, expected);
  } catch (error) {
    if (isFerryError(error, "E_CONFLICT")) return undefined;
    throw error;
  }
}

class S3Lock implements RepoLock {
  private readonly timer: NodeJS.Timeout;
  private lost = false;
  private beat: Promise<void> = Promise.resolve();
  private released = false;

  constructor(
    private readonly store: ConditionalStore,
    private readonly holder: LockHolder,
    private readonly body: Uint8Array,
    private tag: string,
    heartbeatMs: number,
    private readonly lockPath: string,
    readonly storeTime: Date | undefined,
  ) {
    this.timer = setInterval(() => {
      this.beat = this.beat.then(async () => {
        if (this.lost || this.released) return;
        try {
          this.tag = await this.store.putIf(LOCK_FILE, this.body, this.tag);
        } catch (error) {
          if (isFerryError(error, "E_CONFLICT")) this.lost = true; // else: the next beat retries
        }
      });
    }, heartbeatMs);
    this.timer.unref();
  }

  async assertHeld(): Promise<void> {
    await this.beat;
    const current = await this.store.readTagged(LOCK_FILE);
    const owner = current ? parseHolder(current.data) : undefined;
    if (this.lost || owner?.token !== this.holder.token)
      throw lockedError(this.store.location, owner, this.lockPath);
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    await this.beat;
    const current = await this.store.readTagged(LOCK_FILE);
    if (current && parseHolder(current.data)?.token === this.holder.token) await this.store.delete(LOCK_FILE);
  }
}
