import { dirname } from "node:path";
import { FerryError, isFerryError } from "../core/errors.js";
import type { Clock } from "../ports/clock.js";
import type { FileSystem } from "../ports/fs.js";
import { ForwardingFileSystem } from "./forwarding-fs.js";

export interface RenameRetryOptions {
  /** Sleep and time source (injected: tests run on a fake clock). */
  readonly clock: Clock;
  /** Give up once this much time has passed since the first failure. */
  readonly maxWaitMs: number;
  /** First pause; doubles up to maxDelayMs. */
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
}

/** System codes with which Windows refuses a rename while another program (antivirus, indexer) has the file open. */
const TRANSIENT = new Set(["EPERM", "EBUSY", "EACCES"]);

/** Default bound: Windows scanners hold new files for seconds; elsewhere these codes are rarely transient. */
export const DEFAULT_RENAME_WAIT_MS = process.platform === "win32" ? 10_000 : 1_000;

function systemCode(error: unknown): string {
  if (isFerryError(error)) return String(error.data.systemCode ?? "");
  return (error as { code?: unknown } | null)?.code?.toString() ?? "";
}

/**
 * Retries renames that fail with EPERM/EBUSY/EACCES, with exponential backoff, for a bounded time; then
 * fails with E_IO naming both paths and what to do. A rename is never replaced by a copy: a copy is not
 * atomic, and the commit protocol relies on each rename being all-or-nothing.
 */
export class RenameRetryFileSystem extends ForwardingFileSystem {
  /** Renames that succeeded only after a retry (for reports and tests). */
  retriedRenames = 0;

  constructor(
    inner: FileSystem,
    private readonly options: RenameRetryOptions,
  ) {
    super(inner);
  }

  override async rename(from: string, to: string): Promise<void> {
    const { clock, maxWaitMs } = this.options;
    let delay = this.options.initialDelayMs ?? 10;
    const maxDelay = this.options.maxDelayMs ?? 500;
    let started: number | undefined;
    let attempts = 0;
    while (true) {
      attempts++;
      try {
        await this.inner.rename(from, to);
        if (attempts > 1) this.retriedRenames++;
        return;
      } catch (error) {
        const code = systemCode(error);
        if (!TRANSIENT.has(code)) throw error;
        const now = clock.now().getTime();
        started ??= now;
        const waited = now - started;
        if (waited + delay > maxWaitMs) {
          throw new FerryError(
            "E_IO",
            `Could not rename ${from} to ${to}: the system refused with ${code} for ${waited} ms (${attempts} attempts). Another program (an antivirus scanner, a file indexer, the running game) probably holds a file in ${dirname(to)} open: close it or exclude the folder from scanning, then run the update again.`,
            { operation: "rename", path: to, from, systemCode: code, attempts, waitedMs: waited },
            { cause: error },
          );
        }
        await clock.sleep(delay);
        delay = Math.min(delay * 2, maxDelay);
      }
    }
  }
}
