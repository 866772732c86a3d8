import { FerryError } from "../core/errors.js";

/** The network flags of update, check and repair (docs/RELIABILITY.md "Slow and stalled servers"). */
export const NETWORK_OPTIONS = {
  deadline: { type: "string" },
  "min-rate": { type: "string" },
  "request-timeout": { type: "string" },
  "max-attempts": { type: "string" },
} as const;

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
    throw usage("--max-attempts must be a positive integer");
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
  if (value.trim() === "" || !Number.isFinite(n) || n < 0) throw usage(`${flag} must be ${what} (0 or more)`);
  return n;
}

function usage(message: string): FerryError {
  return new FerryError("E_USAGE", `${message}. Run 'ferry --help' for usage.`);
}
