/**
 * One error type for all of Ferry. `code` is stable and documented (README "Error codes");
 * `data` carries the structured facts (path, url, expected/actual) for programs; `message` names the
 * object and says what to do, for people.
 */
export type FerryErrorCode =
  | "E_USAGE"
  | "E_FORMAT"
  | "E_UNSUPPORTED_FORMAT"
  | "E_UNSAFE_PATH"
  | "E_SYMLINK"
  | "E_SIGNATURE"
  | "E_KEY"
  | "E_EXPIRED"
  | "E_ROLLBACK"
  | "E_HASH_MISMATCH"
  | "E_TOO_LARGE"
  | "E_HTTP"
  | "E_NETWORK"
  /**
   * Too slow: one request stayed under the minimum transfer rate or past its deadline (data.scope
   * "request", retried like E_NETWORK), or the whole operation passed its deadline (scope "operation",
   * final). docs/RELIABILITY.md "Slow and stalled servers"; data: url or operation, limit facts.
   */
  | "E_TIMEOUT"
  /** A response carried a Content-Encoding (gzip, br, stacked, …) Ferry did not ask for; never decoded. */
  | "E_ENCODING"
  | "E_RANGE"
  /** Another updater holds the install, or another writer (publish, resign, ...) holds the repository. */
  | "E_LOCKED"
  /**
   * A pointer or root changed between a writer's read and its write (compare-and-swap failed): another
   * writer won; data: path, location. Nothing of the losing writer became current.
   */
  | "E_CONFLICT"
  /**
   * A publish that would harm clients (empty build, version not above the channel's, pointer expiring within
   * days): refused unless the override flag the message names is given; data: reason, flag.
   */
  | "E_UNSAFE_PUBLISH"
  | "E_NOT_INSTALLED"
  | "E_IO"
  | "E_ABORTED"
  | "E_DAMAGED"
  /** The install's volume has less free space than the update needs; data: path, needed, available. */
  | "E_NO_SPACE"
  /**
   * The channel's release needs another runtime (app/engine build) than this client's, and no release for
   * this client's runtime is installed; data: version, runtime, clientRuntime. docs/PACKAGES.md. Also a
   * canUpdate reason: the installed release declares a runtime other than the one the game runs.
   */
  | "E_RUNTIME"
  /** A mount's name is already taken, or its priority equals another mount's (src/mounts); data: name, other. */
  | "E_MOUNT_CONFLICT"
  /** No mount serves the path asked for, or no mount has the name given; data: path or name. */
  | "E_NOT_FOUND"
  /**
   * A persisted mount no longer matches the content hash or runtime it was recorded with; it is dropped,
   * never used (docs/CONTENT.md "Persistence"); data: name, uri, reason.
   */
  | "E_MOUNT_STALE"
  /** The release was blocked on this install after it failed to start (crash loop); data: version, release. */
  | "E_BLOCKED"
  /** A caller-supplied policy hook refused the update (metered connection, low disk, ...); data: reason. */
  | "E_REFUSED"
  /**
   * A path the commit must change cannot be changed (read-only or immutable file or directory, read-only
   * volume); found before the commit, so nothing changed. data: path, systemCode, what.
   */
  | "E_NOT_WRITABLE"
  /** No previous release is kept for the installed one, so there is nothing to roll back to. */
  | "E_NO_PREVIOUS"
  /** An optional peer dependency a feature needs is not installed (the AWS SDK for s3://); data: package. */
  | "E_MISSING_DEPENDENCY"
  /** A message to `ferry agent` is not a JSON object with a string method (docs/AGENT.md); data: id. */
  | "E_PROTOCOL"
  /** An agent HTTP request without the agent's token, or with a wrong one (docs/AGENT.md). */
  | "E_UNAUTHORIZED"
  /** An agent HTTP request with a Host other than its loopback address, or with an Origin header. */
  | "E_FORBIDDEN"
  /** The agent runs another changing operation; wait for its end (or cancel it); data: running. */
  | "E_BUSY";

export type ErrorData = Readonly<Record<string, string | number | boolean | null | undefined>>;

export class FerryError extends Error {
  override readonly name = "FerryError";
  readonly code: FerryErrorCode;
  readonly data: ErrorData;

  constructor(code: FerryErrorCode, message: string, data: ErrorData = {}, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.data = data;
  }
}

export function isFerryError(error: unknown, code?: FerryErrorCode): error is FerryError {
  return error instanceof FerryError && (code === undefined || error.code === code);
}

/**
 * What a system error code means and what to do about it, for the messages of ioError. One table, so
 * every file-system error of Ferry names its real cause (docs: README "Error codes").
 */
export const IO_CAUSES: Readonly<Record<string, { readonly cause: string; readonly advice: string }>> = {
  EACCES: {
    cause: "permission denied",
    advice:
      "This user may not access it: fix its permissions or owner, or run as the user that owns the install.",
  },
  EPERM: {
    cause: "operation not permitted",
    advice:
      "The file may be immutable (chattr +i), locked by another program (antivirus, the running game), or owned by another user: clear the flag, close the program or fix the owner, then run the command again.",
  },
  ENOENT: {
    cause: "no such file or directory",
    advice: "Check the path (a parent directory may be missing or have been removed while Ferry ran).",
  },
  ENOTDIR: {
    cause: "a part of the path is a file, not a directory",
    advice: "A file stands where a directory is needed: move that file away or choose another path.",
  },
  EISDIR: {
    cause: "it is a directory, not a file",
    advice: "A directory stands where a file is needed: move it away or choose another path.",
  },
  EEXIST: {
    cause: "something already exists there",
    advice: "Another file or directory is in the way: move it away, or choose another path.",
  },
  ENOTEMPTY: {
    cause: "the directory is not empty",
    advice: "Move what is in it away, or choose another path.",
  },
  EROFS: {
    cause: "read-only file system",
    advice: "The volume is mounted read-only: remount it read-write or use a directory on a writable volume.",
  },
  ENOSPC: {
    cause: "no space left on the device",
    advice: "The volume is full (space or inodes): free space on it and run the command again.",
  },
  EDQUOT: {
    cause: "disk quota exceeded",
    advice:
      "This user's quota on the volume is used up: free space or raise the quota, then run the command again.",
  },
  EMFILE: {
    cause: "too many open files",
    advice: "Raise the open-file limit (ulimit -n) or close other programs, then run the command again.",
  },
  ENAMETOOLONG: { cause: "file name too long", advice: "Use a shorter install path." },
  ELOOP: { cause: "too many symbolic links", advice: "A symbolic link loops: fix or remove it." },
  EBUSY: {
    cause: "resource busy",
    advice:
      "Another program holds it (the running game, an antivirus, a mount): close it and run the command again.",
  },
  EIO: {
    cause: "input/output error",
    advice:
      "The disk or its connection reported a hardware-level error: check the device (dmesg, SMART) and run the command again.",
  },
};

const DEFAULT_IO_ADVICE = "Check that the path exists and is accessible, and that the disk is not full.";

/**
 * Wraps a system error (ENOENT, EACCES, ...) into a FerryError naming the operation, the path, the real
 * cause and its own advice (IO_CAUSES); data: operation, path, systemCode, syscall (when known). ENOSPC
 * and EDQUOT are E_NO_SPACE, everything else E_IO. A FerryError passes unchanged.
 */
export function ioError(operation: string, path: string, cause: unknown): FerryError {
  if (cause instanceof FerryError) return cause;
  const sys = (cause as { code?: string } | null)?.code ?? "unknown";
  const syscall = (cause as { syscall?: unknown } | null)?.syscall;
  const detail = cause instanceof Error ? cause.message : String(cause);
  const known = IO_CAUSES[sys];
  const message = known
    ? `${operation} failed for ${path}: ${known.cause} (${sys}${typeof syscall === "string" ? `, ${syscall}` : ""}). ${known.advice}`
    : `${operation} failed for ${path}: ${detail}. ${DEFAULT_IO_ADVICE}`;
  return new FerryError(
    sys === "ENOSPC" || sys === "EDQUOT" ? "E_NO_SPACE" : "E_IO",
    message,
    { operation, path, systemCode: sys, ...(typeof syscall === "string" ? { syscall } : {}) },
    { cause },
  );
}

/**
 * The install directory (or a path Ferry must create a directory at) is not a directory: named as such,
 * not as a generic file-system failure. data: path, kind.
 */
export function notADirectory(path: string, kind: string, what = "The install directory"): FerryError {
  return new FerryError(
    "E_IO",
    `${what} ${path} is a ${kind}, not a directory. Choose another path, or move the ${kind} away.`,
    { operation: "mkdir", path, systemCode: "ENOTDIR", kind },
  );
}
