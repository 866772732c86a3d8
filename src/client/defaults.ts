import { FerryError } from "../core/errors.js";
import type { Clock } from "../ports/clock.js";
import type { Brotli } from "../ports/codec.js";
import type { Crypto } from "../ports/crypto.js";
import type { FileSystem } from "../ports/fs.js";
import type { Host } from "../ports/host.js";
import type { Transport, TransportLimits } from "../ports/transport.js";

/** What an operation uses for each dependency its caller did not pass (ClientDeps). */
export interface DefaultDeps {
  fileSystem(clock: Clock): FileSystem;
  transport(limits: TransportLimits): Transport;
  readonly clock: Clock;
  readonly host: Host;
  /** Hashing and signature checks (ports/crypto.ts). */
  readonly crypto: Crypto;
  /** Brotli decoding (ports/codec.ts). */
  readonly brotli: Brotli;
}

/**
 * The client never imports a runtime's adapters (that is what lets it run anywhere): a runtime's entry
 * point registers its defaults once, at load. Ferry's Node entry (src/index.ts, the CLI) imports
 * src/register-node.ts, which registers the Node file system, HTTP transport, clock, host, crypto and brotli; code that
 * imports client modules directly imports that module too, or passes every dependency itself.
 */
let registered: DefaultDeps | undefined;

export function registerDefaults(defaults: DefaultDeps): void {
  registered = defaults;
}

export function defaultDeps(): DefaultDeps {
  if (!registered) {
    throw new FerryError(
      "E_USAGE",
      "No default file system, transport, clock or host is registered: import Ferry from its package entry, or pass fs, transport, clock and host in the operation's deps.",
      {},
    );
  }
  return registered;
}
