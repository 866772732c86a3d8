import { randomBytes } from "node:crypto";
import { dirname } from "node:path";
import type { FileSystem } from "../ports/fs.js";

/**
 * Atomic replace through the port's own primitives: temp file, write, fsync, rename, fsync of the
 * directory. Once it returns, `path` durably holds `data`; before, it holds its old content. Shared by
 * the Node adapter and by wrappers (rename retries, recording, faults), so every step goes through them.
 */
export async function writeFileAtomicVia(
  fs: FileSystem,
  path: string,
  data: Uint8Array,
  mode = 0o644,
): Promise<void> {
  const temp = `${path}.tmp-${randomBytes(6).toString("hex")}`;
  try {
    const writer = await fs.createWriter(temp, mode);
    try {
      await writer.write(data);
      await writer.commit();
    } catch (error) {
      await writer.abort();
      throw error;
    }
    await fs.rename(temp, path);
  } catch (error) {
    // The temp file must not outlive a failure (a leftover is also swept when the install is opened).
    await fs.unlink(temp).catch(() => undefined);
    throw error;
  }
  await fs.fsyncDir(dirname(path));
}
