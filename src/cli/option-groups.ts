/** Option groups shared by several commands: each command spreads the groups it takes into its table. */
import type { TrustAnchor } from "../client/remote/trust.js";
import { type OptionTable, list, positiveInteger, str, type Values, flag } from "./command.js";
import { loadTrust } from "./key-files.js";
import { NETWORK_OPTIONS, networkSettings, type NetworkSettings } from "./network-flags.js";
import { s3Settings } from "./store-flags.js";
import type { S3Settings } from "../publisher/open-store.js";

export { NETWORK_OPTIONS };

export const JSON_OPTION = {
  json: { type: "boolean", description: "print JSON lines (events, then a result or an error) on stdout" },
} as const satisfies OptionTable;

export const CHANNEL_OPTION = {
  channel: { type: "string", value: "<name>", description: "the release channel (default stable)" },
} as const satisfies OptionTable;

export const TRUST_OPTIONS = {
  trust: {
    type: "string",
    multiple: true,
    value: "<root.pub|root.json>",
    description: "a trusted root public key (file or ferry-ed25519:...) or one root metadata file",
  },
  "trust-threshold": { type: "string", value: "<n>", description: "root keys that must sign (default 1)" },
} as const satisfies OptionTable;

export const MIRROR_OPTION = {
  mirror: {
    type: "string",
    multiple: true,
    value: "<url>",
    description: "fallback base URL of the same repository (repeat, or separate with commas)",
  },
} as const satisfies OptionTable;

/** --repo of the publishing commands, with the --s3-* flags it may need. */
export const STORE_OPTIONS = {
  repo: { type: "string", value: "<repo-dir|s3://bucket/prefix>", description: "the repository to write" },
  "s3-endpoint": { type: "string", value: "<url>", description: "S3 endpoint (or FERRY_S3_ENDPOINT)" },
  "s3-region": { type: "string", value: "<region>", description: "S3 region (or FERRY_S3_REGION)" },
  "s3-path-style": { type: "boolean", description: "path-style S3 URLs (or FERRY_S3_PATH_STYLE=1)" },
} as const satisfies OptionTable;

export const SIGNING_KEY_OPTION = {
  key: {
    type: "string",
    multiple: true,
    value: "<release.key>",
    description: "a release signing key (repeat for several)",
  },
} as const satisfies OptionTable;

export const WAIT_LOCK_OPTION = {
  "wait-lock": {
    type: "string",
    value: "<s>",
    description: "wait up to this long for another updater's lock (default: fail at once with E_LOCKED)",
  },
} as const satisfies OptionTable;

export function storeSettings(values: Values): S3Settings {
  return s3Settings({
    "s3-endpoint": str(values, "s3-endpoint"),
    "s3-region": str(values, "s3-region"),
    "s3-path-style": flag(values, "s3-path-style"),
  });
}

export function network(values: Values): NetworkSettings {
  return networkSettings({
    deadline: str(values, "deadline"),
    "min-rate": str(values, "min-rate"),
    "request-timeout": str(values, "request-timeout"),
    "max-attempts": str(values, "max-attempts"),
  });
}

export function trustOf(values: Values, command: string): Promise<TrustAnchor> {
  return loadTrust(
    list(values, "trust"),
    positiveInteger(str(values, "trust-threshold"), "--trust-threshold", command) ?? 1,
  );
}
