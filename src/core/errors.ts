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

/** Wraps a Node system error (ENOENT, EACCES, ...) into E_IO naming the operation and path. */
export function ioError(operation: string, path: string, cause: unknown): FerryError {
  if (cause instanceof FerryError) return cause;
  const sys = (cause as { code?: string } | null)?.code ?? "unknown";
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new FerryError(
    "E_IO",
    `${operation} failed for ${path}: ${detail}. Check that the path exists and is accessible, and that the disk is not full.`,
    { operation, path, systemCode: sys },
    { cause },
  );
}
