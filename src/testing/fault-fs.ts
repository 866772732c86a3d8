import type { FileSystem } from "../ports/fs.js";
import { type FsCall, InterceptingFileSystem } from "./intercepting-fs.js";

const ERRNO: Record<string, number> = { EIO: -5, ENOSPC: -28, EPERM: -1, EACCES: -13, EBUSY: -16 };

/** An error shaped as node:fs throws it (code, errno, syscall, path), not converted by any adapter. */
export function systemError(code: string, call: string, path: string): Error {
  return Object.assign(new Error(`${code}: injected fault, ${call} '${path}'`), {
    code,
    errno: ERRNO[code] ?? -1,
    syscall: call,
    path,
  });
}

/**
 * Fails the `failAt`-th primitive call (1-based, reads included) with a raw system error `code`, once;
 * every other call goes through. `calls` lists every call seen ("name path"), so a first run with
 * failAt 0 counts the calls of an operation.
 */
export class CallFaultFileSystem extends InterceptingFileSystem {
  readonly calls: string[] = [];
  failed: string | undefined;

  constructor(
    inner: FileSystem,
    private readonly failAt: number,
    private readonly code: string,
  ) {
    super(inner);
  }

  protected intercept<T>(call: FsCall, path: string, run: () => Promise<T>): Promise<T> {
    this.calls.push(`${call} ${path}`);
    if (this.calls.length === this.failAt) {
      this.failed = `${call} ${path}`;
      return Promise.reject(systemError(this.code, call, path));
    }
    return run();
  }
}
