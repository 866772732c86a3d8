import { FerryError } from "../../core/errors.js";
import type { FileStat, FileSystem } from "../../ports/fs.js";
import type { InstallLayout } from "./layout.js";

/**
 * Nothing under `.ferry/` is followed through a link (docs/SECURITY.md "Links under .ferry/"): a link
 * there (to a directory outside the install, to a file, or dangling) would make Ferry write, rename or
 * delete wherever it points. Every Ferry-owned name is checked with lstat and refused unless it is what
 * Ferry made there (a real directory or a regular file). Checked under the lock, before any other work.
 */
function linked(path: string, stat: FileStat, expected: "directory" | "file"): FerryError {
  return new FerryError(
    "E_UNSAFE_PATH",
    `${path} is a ${stat.kind}, not a ${expected}: Ferry never writes through links, so it stops here (it could write outside the install). Remove it (the link only, e.g. 'rm ${path}') and run the command again; Ferry recreates it.`,
    { path, kind: stat.kind, expected, rule: "ferry-link" },
  );
}

async function expect(fs: FileSystem, path: string, kind: "directory" | "file"): Promise<boolean> {
  const stat = await fs.stat(path);
  if (stat === undefined) return false;
  if (stat.kind !== kind) throw linked(path, stat, kind);
  return true;
}

/** `.ferry` itself: checked before the lock file is created in it. */
export async function assertFerryRoot(fs: FileSystem, layout: InstallLayout): Promise<void> {
  await expect(fs, layout.ferry, "directory");
}

/** Every Ferry-owned directory and file under `.ferry/`, and the kept previous release's directories. */
export async function assertFerryTree(fs: FileSystem, layout: InstallLayout): Promise<void> {
  if (!(await expect(fs, layout.ferry, "directory"))) return;
  const dirs = [
    layout.staging,
    layout.stagedChunks,
    layout.stagedFiles,
    layout.objects,
    layout.manifests,
    layout.stats,
    layout.displacedRoot,
  ];
  for (const dir of dirs) await expect(fs, dir, "directory");
  if (await expect(fs, layout.previousRoot, "directory")) {
    for (const name of await fs.readdir(layout.previousRoot)) {
      if (await expect(fs, layout.previous(name), "directory")) {
        await expect(fs, layout.previousFiles(name), "directory");
        await expect(fs, layout.previousRecord(name), "file");
      }
    }
  }
  const files = [
    layout.state,
    layout.journal,
    layout.lock,
    layout.pending,
    layout.health,
    layout.installId,
    layout.updateLog,
    layout.updateLogRotated,
  ];
  for (const file of files) await expect(fs, file, "file");
}
