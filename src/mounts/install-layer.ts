import { FerryError } from "../core/errors.js";
import { InstallLayout } from "../client/install/layout.js";
import { type InstallState } from "../client/install/state.js";
import { requireState } from "../client/install/read-state.js";
import { defaultDeps } from "../client/defaults.js";
import type { FileSystem } from "../ports/fs.js";
import type { MountLayer } from "./layer.js";

/** What makes an install the one that was mounted: its repository and channel, not its release. */
export interface InstallIdentity {
  readonly repo: string;
  readonly channel: string;
}

/**
 * A Ferry install: exactly the files its `.ferry/state.json` records (untracked files beside them, such as
 * saves or mods, are not served). A file whose size no longer matches the record is refused (E_DAMAGED).
 * The install may update while mounted: when its state file changes, the new state is read (and must still
 * be the same repository and channel), so the layer serves the release the install verified last.
 */
export class InstallLayer implements MountLayer {
  readonly kind = "ferry-install";
  private constructor(
    readonly uri: string,
    private readonly fs: FileSystem,
    private state: InstallState,
    private stamp: string,
    private readonly expected: InstallIdentity | undefined,
  ) {}

  /** With `expected`, an install of another repository or channel is E_MOUNT_STALE. */
  static async open(uri: string, fs: FileSystem, expected?: InstallIdentity): Promise<InstallLayer> {
    const layout = new InstallLayout(uri);
    const stamp = await stateStamp(fs, layout);
    const state = await requireState({ fs, layout, crypto: defaultDeps().crypto });
    checkIdentity(uri, state, expected);
    return new InstallLayer(uri, fs, state, stamp, expected);
  }

  get identity(): InstallIdentity {
    return { repo: this.state.repo, channel: this.state.channel };
  }

  /** The state, re-read when the state file changed since it was last read (an update committed). */
  private async current(): Promise<InstallState> {
    const layout = new InstallLayout(this.uri);
    const stamp = await stateStamp(this.fs, layout);
    if (stamp !== this.stamp) {
      const state = await requireState({ fs: this.fs, layout, crypto: defaultDeps().crypto });
      checkIdentity(this.uri, state, this.expected);
      this.state = state;
      this.stamp = stamp;
    }
    return this.state;
  }

  async size(path: string): Promise<number | undefined> {
    const files = (await this.current()).files;
    return Object.hasOwn(files, path) ? files[path]!.size : undefined;
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

  /** The installed release's manifest hash: it names every file's content (it changes when the install updates). */
  async contentHash(): Promise<string> {
    return (await this.current()).manifest.hash;
  }
}

/** Size, mtime and inode of the state file: the state is written by atomic rename, so a commit changes them. */
async function stateStamp(fs: FileSystem, layout: InstallLayout): Promise<string> {
  const stat = await fs.stat(layout.state);
  return stat === undefined ? "none" : `${stat.size}:${stat.mtimeMs}:${stat.ino}`;
}

function checkIdentity(uri: string, state: InstallState, expected: InstallIdentity | undefined): void {
  if (expected === undefined) return;
  if (state.repo === expected.repo && state.channel === expected.channel) return;
  throw new FerryError(
    "E_MOUNT_STALE",
    `${uri} was mounted as the Ferry install of ${expected.repo} (channel ${expected.channel}) and is now one of ${state.repo} (channel ${state.channel}).`,
    {
      path: uri,
      reason: "install-changed",
      repo: state.repo,
      channel: state.channel,
      expectedRepo: expected.repo,
      expectedChannel: expected.channel,
    },
  );
}
