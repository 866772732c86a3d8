import { createHash } from "node:crypto";
import { lstat, readdir, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";

/**
 * Every entry under `root` as "path type mode size content-sha256-or-link-target", sorted. Timestamps
 * are left out on purpose (a lock file created and removed changes a directory's mtime, not its
 * content); everything a write could change (names, kinds, modes, bytes, link targets) is in.
 */
export async function sandboxListing(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(rel: string): Promise<void> {
    const names = (await readdir(join(root, rel))).sort();
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name;
      const s = await lstat(join(root, path));
      const mode = (s.mode & 0o7777).toString(8);
      if (s.isSymbolicLink()) out.push(`${path} link ${mode} ${await readlink(join(root, path))}`);
      else if (s.isDirectory()) {
        out.push(`${path} dir ${mode}`);
        await walk(path);
      } else {
        const digest = createHash("sha256")
          .update(await readFile(join(root, path)))
          .digest("hex");
        out.push(`${path} file ${mode} ${s.size} ${digest}`);
      }
    }
  }
  await walk("");
  return out;
}
