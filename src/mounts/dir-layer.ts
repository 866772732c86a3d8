import { join } from "node:path";
import { FerryError } from "../core/errors.js";
import { sha256Stream } from "../node/node-crypto.js";
import type { FileSystem } from "../ports/fs.js";
import { scanBuildDirectory } from "../publisher/scan.js";
import type { MountLayer } from "./layer.js";

/**
 * A plain directory. A path is served only when every segment below the root is a real directory and
 * the last a regular file: a symlink anywhere on the way is never followed (it could leave the root).
 */
export class DirectoryLayer implements MountLayer {
  readonly kind = "directory";
  constructor(
    readonly uri: string,
    private readonly fs: FileSystem,
  ) {}

  async size(path: string): Promise<number | undefined> {
    const segments = path.split("/");
    let at = this.uri;
    for (let i = 0; i < segments.length; i++) {
      at = join(at, segments[i]!);
      const stat = await this.fs.stat(at);
      if (stat === undefined) return undefined;
      if (i < segments.length - 1 ? stat.kind !== "directory" : stat.kind !== "file") return undefined;
    }
    return (await this.fs.stat(at))?.size;
  }

  async read(path: string): Promise<Uint8Array> {
    if ((await this.size(path)) === undefined)
      throw new FerryError("E_NOT_FOUND", `${path} is not a regular file in mounted directory ${this.uri}.`, {
        path,
        mount: this.uri,
      });
    return this.fs.readFile(join(this.uri, ...path.split("/")));
  }

  /** The listing (path, size, mtime of every file, sorted); scanning refuses symlinks and unsafe names. */
  async contentHash(): Promise<string> {
    const hash = sha256Stream();
    const encoder = new TextEncoder();
    for (const file of await scanBuildDirectory(this.uri)) {
      const stat = await this.fs.stat(file.absolute);
      hash.update(encoder.encode(`${file.path}\0${stat?.size ?? -1}\0${stat?.mtimeMs ?? -1}\n`));
    }
    return hash.digest();
  }
}
