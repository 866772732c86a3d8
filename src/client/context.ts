import { FerryError } from "../core/errors.js";
import type { Brotli } from "../ports/codec.js";
import type { Crypto } from "../ports/crypto.js";
import type { Clock } from "../ports/clock.js";
import type { FileSystem } from "../ports/fs.js";
import type { Host } from "../ports/host.js";
import type { Transport, TransportLimits } from "../ports/transport.js";
import { defaultDeps } from "./defaults.js";
import type { EventSink } from "./events.js";
import { InstallLayout } from "./install/layout.js";

/** Effects a client operation runs with; each one not given is the registered default (defaults.ts). */
export interface ClientDeps {
  readonly fs?: FileSystem;
  readonly transport?: Transport;
  readonly clock?: Clock;
  /** Hashing and signature checks (default node:crypto). */
  readonly crypto?: Crypto;
  /** Brotli decoding (default node:zlib). */
  readonly brotli?: Brotli;
  /** Randomness, process identity, absolute paths (ports/host.ts). */
  readonly host?: Host;
  readonly onEvent?: EventSink;
  readonly signal?: AbortSignal;
  /** Wait this long for another updater's lock (default 0: fail with E_LOCKED). */
  readonly lockWaitMs?: number;
  /**
   * The longest the whole operation may take; past it, it ends with E_TIMEOUT (scope "operation") and
   * the install lock released. Default per operation (docs/RELIABILITY.md "Slow and stalled servers"):
   * check 10 min (a tree release's check reads its directory objects), update and repair 6 h. 0 means no deadline.
   */
  readonly deadlineMs?: number;
  /** Limits of the default HTTP transport (ignored when `transport` is given): stall, rate, deadline. */
  readonly network?: TransportLimits;
}

/**
 * The one calling convention of the public operations: `op({ installDir, ...options, ...deps })`, one
 * object holding the install directory, the operation's options and any ClientDeps.
 */
export interface InstallOptions extends ClientDeps {
  readonly installDir: string;
}

/** Default operation deadlines (ClientDeps.deadlineMs). */
export const DEFAULT_CHECK_DEADLINE_MS = 10 * 60_000;
export const DEFAULT_UPDATE_DEADLINE_MS = 6 * 3_600_000;

export interface Context {
  readonly fs: FileSystem;
  readonly transport: Transport;
  readonly clock: Clock;
  readonly crypto: Crypto;
  readonly brotli: Brotli;
  readonly host: Host;
  readonly emit: EventSink;
  readonly signal: AbortSignal | undefined;
  readonly layout: InstallLayout;
  /** The operation's deadline, when it has one: aborts `signal` with an E_TIMEOUT reason. */
  readonly deadline?: { readonly signal: AbortSignal; clear(): void } | undefined;
  /**
   * A read-only operation (check): Ferry's bookkeeping that a writer would store (fetched tree objects,
   * a re-fetched installed manifest, refusal log lines, a new install id) is used in memory, not written.
   */
  readonly readOnly?: boolean;
}

/**
 * `defaultDeadlineMs` is the operation's own default (ClientDeps.deadlineMs overrides it). The deadline
 * runs on real time, not on `clock`: it bounds what the player waits.
 */
export function makeContext(installDir: string, deps: ClientDeps, defaultDeadlineMs = 0): Context {
  const clock = deps.clock ?? defaultDeps().clock;
  const host = deps.host ?? defaultDeps().host;
  const deadline = operationDeadline(deps.deadlineMs ?? defaultDeadlineMs);
  const signal =
    deadline && deps.signal
      ? AbortSignal.any([deps.signal, deadline.signal])
      : (deadline?.signal ?? deps.signal);
  return {
    fs: deps.fs ?? defaultDeps().fileSystem(clock),
    transport: deps.transport ?? defaultDeps().transport(deps.network ?? {}),
    clock,
    crypto: deps.crypto ?? defaultDeps().crypto,
    brotli: deps.brotli ?? defaultDeps().brotli,
    host,
    emit: deps.onEvent ?? (() => undefined),
    signal,
    layout: new InstallLayout(host.absolutePath(installDir)),
    deadline,
  };
}

function operationDeadline(ms: number): Context["deadline"] {
  if (!(ms > 0)) return undefined;
  const controller = new AbortController();
  const timer = setTimeout(
    () =>
      controller.abort(
        new FerryError(
          "E_TIMEOUT",
          `The operation did not finish within its deadline of ${ms / 1000} s; it was stopped and the install lock released (the install is unchanged unless the commit had begun, which recovery completes). Check the network, or raise deadlineMs (--deadline).`,
          { scope: "operation", deadlineMs: ms },
        ),
      ),
    ms,
  ).unref();
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}
