import { ForwardingFileSystem } from "../node/forwarding-fs.js";
import type { FileWriter } from "../ports/fs.js";

/**
 * Turns every fsync into a plain close: for test runs whose durability is not what they check
 * (it halves an update's time on a busy disk). Never for the run under test of a durability test.
 */
export class NoSyncFileSystem extends ForwardingFileSystem {
  override async fsyncDir(): Promise<void> {}
  override async createWriter(path: string, mode?: number): Promise<FileWriter> {
    const w = await super.createWriter(path, mode);
    return { write: (d) => w.write(d), commit: () => w.abort(), abort: () => w.abort() };
  }
}
