import { sha256 } from "../node/node-crypto.js";
import type { RepoLock } from "./repo-lock.js";
import type { RepoStore } from "./repo-store.js";

/**
 * What every command that writes a pointer or root shares: the repository lock around the whole
 * command, and compare-and-swap writes on what it read (docs/HOSTING.md "Concurrent writers").
 */
const NO_LOCK: RepoLock = { assertHeld: async () => undefined, release: async () => undefined };

/** Runs `work` holding the repository (E_LOCKED at once when another writer holds it). */
export async function withRepoLock<T>(
  store: RepoStore,
  command: string,
  work: (lock: RepoLock) => Promise<T>,
): Promise<T> {
  const lock = store.lock ? await store.lock(command) : NO_LOCK;
  try {
    return await work(lock);
  } finally {
    await lock.release();
  }
}

/** The object and the tag a later writeExpecting compares against (null: absent). */
export async function readForSwap(
  store: RepoStore,
  path: string,
): Promise<{ readonly data: Uint8Array | undefined; readonly tag: string | null }> {
  if (store.readTagged) {
    const found = await store.readTagged(path);
    return { data: found?.data, tag: found?.tag ?? null };
  }
  const data = await store.read(path);
  return { data, tag: data ? sha256(data) : null };
}

/** A compare-and-swap write where the store offers one; a plain write on stores without (tests' wrappers). */
export async function writeExpecting(
  store: RepoStore,
  path: string,
  data: Uint8Array,
  expected: string | null,
): Promise<void> {
  if (store.writeIf) await store.writeIf(path, data, expected);
  else await store.write(path, data);
}
