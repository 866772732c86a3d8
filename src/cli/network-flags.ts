import { FerryError } from "../core/errors.js";
import type { OptionTable } from "./command.js";

/** The network flags of update, check, repair and ui (docs/RELIABILITY.md "Slow and stalled servers"). */
export const NETWORK_OPTIONS = {
  deadline: {
    type: "string",
    value: "<s>",
    description: "bound the whole operation (default: update, repair 6 h; check 10 min; 0: none)",
  },
  "min-rate": {
    type: "string",
    value: "<B/s>",
    description: "slowest transfer accepted (default 1024 B/s over 20 s; 0: off)",
  },
  "request-timeout": {
    type: "string",
    value: "<s>",
    description: "bound one request (default 600 s; 0: none)",
  },
  "max-attempts": {
    type: "string",
    value: "<n>",
    description: "attempts per object before failing (default 5)",
  },
} as const satisfies OptionTable;

export const NETWORK_HELP = "[--deadline <s>] [--min-rate <B/s>] [--request-timeout <s>] [--max-attempts 5]";

interface NetworkFlagValues {
  readonly deadline?: string | undefined;
  readonly "min-rate"?: string | undefined;
  readonly "request-timeout"?: string | undefined;
  readonly "max-attempts"?: string | undefined;
}

export interface NetworkSettings {
  deadlineMs?: number;
  maxAttempts?: number;
  network?: { minBytesPerSecond?: number; requestTimeoutMs?: number };
}

/**
 * --deadline (whole operation, seconds; 0: none), --min-rate (bytes per second; 0: off),
 * --request-timeout (one request, seconds; 0: none), --max-attempts (per object).
 */
export function networkSettings(values: NetworkFlagValues): NetworkSettings {
  const deadline = seconds(values.deadline, "--deadline");
  const rate = nonNegative(values["min-rate"], "--min-rate", "a number of bytes per second");
  const requestTimeout = seconds(values["request-timeout"], "--request-timeout");
  const attempts = values["max-attempts"];
  if (attempts !== undefined && !(Number.isInteger(Number(attempts)) && Number(attempts) >= 1)) {
    throw usage(`--max-attempts must be a positive integer (got ${JSON.stringify(attempts)})`);
  }
  const network = {
    ...(rate === undefined ? {} : { minBytesPerSecond: rate }),
    ...(requestTimeout === undefined ? {} : { requestTimeoutMs: requestTimeout }),
  };
  return {
    ...(deadline === undefined ? {} : { deadlineMs: deadline }),
    ...(attempts === undefined ? {} : { maxAttempts: Number(attempts) }),
    ...(Object.keys(network).length === 0 ? {} : { network }),
  };
}

function seconds(value: string | undefined, flag: string): number | undefined {
  const n = nonNegative(value, flag, "a number of seconds");
  return n === undefined ? undefined : Math.round(n * 1000);
}

function nonNegative(value: string | undefined, flag: string, what: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0)
    throw usage(`${flag} must be ${what} (0 or more; got ${JSON.stringify(value)})`);
  return n;
}

function usage(message: string): FerryError {
  return new FerryError("E_USAGE", `${message}. Run 'ferry --help' for usage.`);
}
