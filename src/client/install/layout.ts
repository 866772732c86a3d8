import { join } from "node:path";

/** Paths inside an install directory (docs/FORMAT.md §7). */
export class InstallLayout {
  constructor(readonly root: string) {}
  get ferry(): string {
    return join(this.root, ".ferry");
  }
  get state(): string {
    return join(this.ferry, "state.json");
  }
  get journal(): string {
    return join(this.ferry, "journal.json");
  }
  get lock(): string {
    return join(this.ferry, "lock");
  }
  get manifests(): string {
    return join(this.ferry, "manifests");
  }
  manifest(hash: string): string {
    return join(this.manifests, hash);
  }
  /** Kept directory and recipe objects of tree releases (docs/FORMAT.md §7). */
  get objects(): string {
    return join(this.ferry, "objects");
  }
  object(hash: string): string {
    return join(this.objects, hash);
  }
  /** Stat-cache files of large installs, by SHA-256 (docs/FORMAT.md §7). */
  get stats(): string {
    return join(this.ferry, "stats");
  }
  statFile(hash: string): string {
    return join(this.stats, hash);
  }
  get staging(): string {
    return join(this.ferry, "staging");
  }
  get stagedChunks(): string {
    return join(this.staging, "chunks");
  }
  stagedChunk(hash: string): string {
    return join(this.stagedChunks, hash);
  }
  get stagedFiles(): string {
    return join(this.staging, "files");
  }
  stagedFile(name: string): string {
    return join(this.stagedFiles, name);
  }
  /** The one previous release kept for rollback (docs/ROLLBACK.md): `previous/<manifest hash>/`. */
  get previousRoot(): string {
    return join(this.ferry, "previous");
  }
  previous(hash: string): string {
    return join(this.previousRoot, hash);
  }
  previousRecord(hash: string): string {
    return join(this.previous(hash), "release.json");
  }
  previousFiles(hash: string): string {
    return join(this.previous(hash), "files");
  }
  /** Untracked files a commit found at paths it writes: kept for the player, never removed by Ferry. */
  get displacedRoot(): string {
    return join(this.ferry, "displaced");
  }
  displaced(dir: string, path: string): string {
    return join(this.displacedRoot, dir, ...path.split("/"));
  }
  get health(): string {
    return join(this.ferry, "health.json");
  }
  get installId(): string {
    return join(this.ferry, "install-id");
  }
  get updateLog(): string {
    return join(this.ferry, "update-log.jsonl");
  }
  get updateLogRotated(): string {
    return join(this.ferry, "update-log.1.jsonl");
  }
  /** A staged update waiting for the next open (apply on next start): a journal not yet in force. */
  get pending(): string {
    return join(this.ferry, "pending.json");
  }
  /** Native path of a release path (validated before it gets here). */
  file(path: string): string {
    return join(this.root, ...path.split("/"));
  }
}
