import type { Context } from "../context.js";
import { RemoteRepository } from "./remote.js";
import type { RetryPolicy } from "./retry.js";

/** Where the repository is and how hard to try: the part of an operation's options the remote needs. */
export interface RepositoryOptions {
  readonly repoUrl: string;
  /** More base URLs of the same repository, tried after repoUrl (docs/HOSTING.md "Mirrors"). */
  readonly mirrors?: readonly string[];
  /** Attempts per download request before the operation fails (default 5). */
  readonly maxAttempts?: number;
}

/** The repository at `repoUrl`, retrying transient failures with the context's clock. */
export function openRepository(ctx: Context, options: RepositoryOptions): RemoteRepository {
  return new RemoteRepository([options.repoUrl, ...(options.mirrors ?? [])], ctx.transport, ctx.crypto, {
    ...repositoryPolicy(ctx, options),
    emit: ctx.emit,
  });
}

/** The client's retry policy (retry.ts) on the context's clock and signal. */
export function repositoryPolicy(ctx: Context, options: Pick<RepositoryOptions, "maxAttempts">): RetryPolicy {
  return {
    maxAttempts: options.maxAttempts ?? 5,
    sleep: (ms, signal) => ctx.clock.sleep(ms, signal),
    signal: ctx.signal,
    onRetry: (attempt, delayMs, error) =>
      ctx.emit({
        type: "retry",
        url: String(error.data.url ?? ""),
        attempt,
        delayMs,
        code: error.code,
        message: error.message,
      }),
  };
}
