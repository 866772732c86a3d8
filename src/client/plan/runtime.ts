import { FerryError } from "../../core/errors.js";
import type { PointerBody } from "../../core/pointer.js";

/**
 * The runtime gate (docs/PACKAGES.md): a release may name the runtime (app/engine build) it needs. A
 * client configured with its runtime installs only releases for it, and when the app itself was upgraded
 * (the installed release names another runtime) the stale release is set aside: `.ferry/state.json` is
 * renamed into `.ferry/set-aside/<id>/` (one atomic step: from then on nothing is installed and the base
 * bundle is served), then the release's files are moved after it.
 */

export interface SetAsideRecord {
  readonly reason: "runtime";
  readonly version: string;
  /** The runtime the set-aside release was published for, and the client's. */
  readonly runtime: string;
  readonly clientRuntime: string;
  readonly at: string;
  /** Where the state, manifest and files went. */
  readonly directory: string;
}

/** A release for another runtime is refused; a release that names none, or a client that names none, passes. */
export function runtimeMismatch(body: PointerBody, clientRuntime: string | undefined): boolean {
  return clientRuntime !== undefined && body.runtime !== undefined && body.runtime !== clientRuntime;
}

export function runtimeError(body: PointerBody, clientRuntime: string): FerryError {
  return new FerryError(
    "E_RUNTIME",
    `Channel '${body.channel}' offers ${body.version} for runtime ${body.runtime ?? "(any)"}, but this client runs ${clientRuntime} and has no release for it installed: nothing was installed, keep using the base bundle. Publish a release with --runtime ${clientRuntime}.`,
    { version: body.version, runtime: body.runtime ?? null, clientRuntime },
  );
}
