import { joinPath } from "../paths.js";

/** Paths inside an install directory (docs/FORMAT.md §7). */
export class InstallLayout {
  constructor(readonly root: string) {}
  get ferry(): string {
    return joinPath(this.root, ".ferry");
  }
  get state(): string {
    return joinPath(this.ferry, "state.json");
  }
  get journal(): string {
    return joinPath(this.ferry, "journal.json");
  }
  get lock(): string {
    return joinPath(this.ferry, "lock");
  }
  get manifests(): string {
    return joinPath(this.ferry, "manifests");
  }
  manifest(hash: string): string {
    return joinPath(this.manifests, hash);
  }
  /** Kept directory and recipe objects of tree releases (docs/FORMAT.md §7). */
  get objects(): string {
    return joinPath(this.ferry, "objects");
  }
  object(hash: string): string {
    return joinPath(this.objects, hash);
  }
  /** Stat-cache files of large installs, by SHA-256 (docs/FORMAT.md §7). */
  get stats(): string {
    return joinPath(this.ferry, "stats");
  }
  statFile(hash: string): string {
    return joinPath(this.stats, hash);
  }
  get staging(): string {
    return joinPath(this.ferry, "staging");
  }
  get stagedChunks(): string {
    return joinPath(this.staging, "chunks");
  }
  stagedChunk(hash: string): string {
    return joinPath(this.stagedChunks, hash);
  }
  get stagedFiles(): string {
    return joinPath(this.staging, "files");
  }
  stagedFile(name: string): string {
    return joinPath(this.stagedFiles, name);
  }
  /** The one previous release kept for rollback (docs/ROLLBACK.md): `previous/<manifest hash>/`. */
  get previousRoot(): string {
    return joinPath(this.ferry, "previous");
  }
  previous(hash: string): string {
    return joinPath(this.previousRoot, hash);
  }
  previousRecord(hash: string): string {
    return joinPath(this.previous(hash), "release.json");
  }
  previousFiles(hash: string): string {
    return joinPath(this.previous(hash), "files");
  }
  /** Untracked files a commit found at paths it writes: kept for the player, never removed by Ferry. */
  get displacedRoot(): string {
    return joinPath(this.ferry, "displaced");
  }
  displaced(dir: string, path: string): string {
    return joinPath(this.displacedRoot, dir, ...path.split("/"));
  }
  get health(): string {
    return joinPath(this.ferry, "health.json");
  }
  get installId(): string {
    return joinPath(this.ferry, "install-id");
  }
  get updateLog(): string {
    return joinPath(this.ferry, "update-log.jsonl");
  }
  get updateLogRotated(): string {
    return joinPath(this.ferry, "update-log.1.jsonl");
  }
  /** A staged update waiting for the next open (apply on next start): a journal not yet in force. */
  get pending(): string {
    return joinPath(this.ferry, "pending.json");
  }
  /** Native path of a release path (validated before it gets here). */
  file(path: string): string {
    return joinPath(this.root, ...path.split("/"));
  }
}
