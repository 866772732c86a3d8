import { ForwardingFileSystem } from "../node/forwarding-fs.js";
import type { FileSystem, VolumeSpace } from "../ports/fs.js";

/** Reports a chosen amount of free space (and block size) instead of the volume's: for disk-full tests. */
export class LowSpaceFileSystem extends ForwardingFileSystem {
  constructor(
    inner: FileSystem,
    private readonly space: VolumeSpace,
  ) {
    super(inner);
  }
  override freeSpace(): Promise<VolumeSpace> {
    return Promise.resolve(this.space);
  }
}
