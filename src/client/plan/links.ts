import { FerryError } from "../../core/errors.js";
import type { FileEntry } from "../../core/manifest.js";
import type { Crypto } from "../../ports/crypto.js";
import type { FileSystem } from "../../ports/fs.js";

/** A link's `sha256` in a manifest: the SHA-256 of its target's UTF-8 bytes (docs/FORMAT.md §5). */
export function linkHash(crypto: Crypto, target: string): Promise<string> {
  return crypto.sha256(new TextEncoder().encode(target));
}

/** The target of the link at `native`, or undefined when this file system cannot read links. */
export async function readLinkTarget(fs: FileSystem, native: string): Promise<string | undefined> {
  return fs.readlink ? fs.readlink(native) : undefined;
}

/**
 * Refuses, before anything is downloaded, a release with links on a file system that cannot make them
 * (OPFS, a test double), and a link whose `sha256` is not its target's hash (a forged manifest).
 */
export async function checkLinks(fs: FileSystem, crypto: Crypto, files: readonly FileEntry[]): Promise<void> {
  for (const file of files) {
    if (file.link === undefined) continue;
    if (!fs.symlink || !fs.readlink) {
      throw new FerryError(
        "E_SYMLINK",
        `The release has a symbolic link (${file.path} -> ${file.link}) and this file system cannot create links. Install on a file system that supports them, or ask the publisher to ship the file itself.`,
        { path: file.path, target: file.link },
      );
    }
    if ((await linkHash(crypto, file.link)) !== file.sha256) {
      throw new FerryError(
        "E_HASH_MISMATCH",
        `The release's link ${file.path} -> ${file.link} has sha256 ${file.sha256}, which is not its target's hash. The repository is corrupt or forged; nothing was installed.`,
        { path: file.path, expected: file.sha256 },
      );
    }
  }
}

/** Why the link at `native` is not the release's link `entry`, or undefined when it is. */
export async function linkProblem(
  fs: FileSystem,
  native: string,
  entry: FileEntry,
): Promise<string | undefined> {
  const stat = await fs.stat(native);
  if (!stat) return "is missing";
  if (stat.kind !== "symlink") return `is a ${stat.kind}, not a link`;
  const target = await readLinkTarget(fs, native);
  return target === entry.link
    ? undefined
    : `points to ${JSON.stringify(target)}, not ${JSON.stringify(entry.link)}`;
}
