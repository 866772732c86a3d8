import { FerryError } from "../core/errors.js";
import { InstallLayout } from "../client/layout.js";
import { requireState, type InstallState } from "../client/state.js";
import type { FileSystem } from "../ports/fs.js";
import type { MountLayer } from "./layer.js";

/**
 * A Ferry install: exactly the files its `.ferry/state.json` records (untracked files beside them, such as
 * saves or mods, are not served). A file whose size no longer matches the record is refused (E_DAMAGED).
 */
export class InstallLayer implements MountLayer {
  readonly kind = "ferry-install";
  private constructor(
    readonly uri: string,
    private readonly fs: FileSystem,
    private readonly state: InstallState,
  ) {}

  static async open(uri: string, fs: FileSystem): Promise<InstallLayer> {
    return new InstallLayer(uri, fs, await requireState(fs, new InstallLayout(uri)));
  }

  size(path: string): Promise<number | undefined> {
    return Promise.resolve(Object.hasOwn(this.state.files, path) ? this.state.files[path]!.size : undefined);
  }

  async read(path: string): Promise<Uint8Array> {
    const expected = await this.size(path);
    if (expected === undefined)
      throw new FerryError("E_NOT_FOUND", `${path} is not a file of the Ferry install ${this.uri}.`, {
        path,
        mount: this.uri,
      });
    const bytes = await this.fs.readFile(new InstallLayout(this.uri).file(path));
    if (bytes.length !== expected)
      throw new FerryError(
        "E_DAMAGED",
        `${path} in the Ferry install ${this.uri} has ${bytes.length} bytes, the install records ${expected}. Run 'ferry repair' on the install.`,
        { path, mount: this.uri, expected, actual: bytes.length },
      );
    return bytes;
  }

  /** The installed release's manifest hash: it names every file's content. */
  contentHash(): Promise<string> {
    return Promise.resolve(this.state.manifest.hash);
  }
}
