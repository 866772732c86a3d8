import { FerryError } from "../core/errors.js";
import { sha256 } from "../node/node-crypto.js";
import type { RepoLock } from "../publisher/repo-lock.js";
import type { RepoStore } from "../publisher/repo-store.js";

const NO_LOCK: RepoLock = { assertHeld: async () => undefined, release: async () => undefined };

/**
 * A store that lets `allowedWrites` writes through and then fails every later write, as a publish
 * killed at that point would stop: the objects written so far stay, nothing after them is written.
 * Reads pass through. `writes` lists the paths that reached the store.
 */
export class FailingStore implements RepoStore {
  readonly writes: string[] = [];

  constructor(
    private readonly inner: RepoStore,
    public allowedWrites: number,
  ) {}

  get location(): string {
    return this.inner.location;
  }

  private gate(path: string): void {
    if (this.writes.length >= this.allowedWrites) {
      throw new FerryError("E_IO", `Injected failure: write of ${path} after ${this.allowedWrites} writes.`, {
        path,
      });
    }
    this.writes.push(path);
  }

  read(path: string) {
    return this.inner.read(path);
  }
  readRange(path: string, offset: number, length: number) {
    return this.inner.readRange(path, offset, length);
  }
  head(path: string) {
    return this.inner.head(path);
  }
  list(prefix: string) {
    return this.inner.list(prefix);
  }
  exists(path: string) {
    return this.inner.exists(path);
  }
  async write(path: string, data: Uint8Array): Promise<void> {
    this.gate(path);
    await this.inner.write(path, data);
  }
  async putFile(path: string, localFile: string): Promise<void> {
    this.gate(path);
    await this.inner.putFile(path, localFile);
  }
  tempPath() {
    return this.inner.tempPath();
  }
  delete(path: string) {
    return this.inner.delete(path);
  }
  lock(command: string) {
    return this.inner.lock ? this.inner.lock(command) : Promise.resolve(NO_LOCK);
  }
  async readTagged(path: string) {
    if (this.inner.readTagged) return this.inner.readTagged(path);
    const data = await this.inner.read(path);
    return data && { data, tag: sha256(data) };
  }
  async writeIf(path: string, data: Uint8Array, expected: string | null): Promise<void> {
    this.gate(path);
    await (this.inner.writeIf ? this.inner.writeIf(path, data, expected) : this.inner.write(path, data));
  }
}
