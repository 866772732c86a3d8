import type { EngineDeps } from "./engine.js";
import { parseStoredManifest, storedObjects } from "./engine.js";
import { objectLayout } from "./store.js";

/** The Web Lock a session holds (shared) for the release it reads, so that no collection removes it. */
export function releaseLockName(app: string, manifestHash: string): string {
  return `ferry-release:${app}:${manifestHash}`;
}

/** The one-writer lock: updates, on-demand stores and collections of one app take it. */
export function writerLockName(app: string): string {
  return `ferry-writer:${app}`;
}

/** Releases some session holds (or waits for) a release lock on: they are in use. */
export async function lockedReleases(app: string): Promise<Set<string>> {
  const prefix = releaseLockName(app, "");
  const snapshot = await navigator.locks.query();
  const names = [...(snapshot.held ?? []), ...(snapshot.pending ?? [])].map((l) => l.name ?? "");
  return new Set(names.filter((n) => n.startsWith(prefix)).map((n) => n.slice(prefix.length)));
}

/**
 * Removes the objects and release records that neither the current release nor a release in use needs.
 * Runs only after a commit and only under the writer lock (the caller's): objects being written for an
 * uncommitted update are never collected, and a running session's release is kept by its lock (pages)
 * or by its pin (the service worker passes its live clients' releases as `inUse`).
 */
export async function collectGarbage(
  deps: EngineDeps,
  inUse: ReadonlySet<string>,
): Promise<{ objects: number; releases: number }> {
  const current = await deps.store.current();
  const keepReleases = new Set([...inUse, ...(await lockedReleases(deps.app))]);
  if (current) keepReleases.add(current.manifestHash);
  const keepObjects = new Set<string>();
  const dropReleases: string[] = [];
  for (const hash of await deps.store.releaseHashes()) {
    if (!keepReleases.has(hash)) {
      dropReleases.push(hash);
      continue;
    }
    const record = await deps.store.release(hash);
    if (record) for (const file of parseStoredManifest(record).files) keepObjects.add(file.sha256);
  }
  const layout = objectLayout(deps.app);
  let objects = 0;
  for (const name of await storedObjects(deps)) {
    if (keepObjects.has(name)) continue;
    await deps.fs.unlink(layout.file(name));
    objects++;
  }
  await deps.store.deleteReleases(dropReleases);
  return { objects, releases: dropReleases.length };
}
