import { ioError } from "../core/errors.js";
import { ForwardingFileSystem } from "../node/forwarding-fs.js";
import type { FileSystem } from "../ports/fs.js";
import { systemError } from "./fault-fs.js";

/**
 * Renames as Windows does them while an antivirus scanner holds the file: each rename whose target
 * matches `which` fails `times` times (Infinity: until `release()`) with `codes` in turn, then works.
 * Errors are what the Node adapter throws (E_IO carrying the system code).
 */
export class FlakyRenameFileSystem extends ForwardingFileSystem {
  failures = 0;
  private readonly left = new Map<string, number>();
  private released = false;

  constructor(
    inner: FileSystem,
    private readonly options: { times: number; codes: readonly string[]; which?: (to: string) => boolean },
  ) {
    super(inner);
  }

  release(): void {
    this.released = true;
  }

  override async rename(from: string, to: string): Promise<void> {
    if (!this.released && (this.options.which?.(to) ?? true)) {
      const left = this.left.get(from) ?? this.options.times;
      if (left > 0) {
        this.left.set(from, left - 1);
        const code = this.options.codes[this.failures++ % this.options.codes.length]!;
        throw ioError("rename", `${from} -> ${to}`, systemError(code, "rename", from));
      }
    }
    return super.rename(from, to);
  }
}
