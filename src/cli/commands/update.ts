import { update } from "../../client/ops/update.js";
import type { VerifyMode } from "../../client/plan/incremental.js";
import { formatBytes } from "../../core/format-bytes.js";
import { type Command, flag, need, out, str, usage, list, type Values } from "../command.js";
import { eventOutput, testHooks } from "../client-run.js";
import {
  CHANNEL_OPTION,
  JSON_OPTION,
  MIRROR_OPTION,
  network,
  NETWORK_OPTIONS,
  TRUST_OPTIONS,
  trustOf,
  WAIT_LOCK_OPTION,
} from "../option-groups.js";
import { mirrorList } from "../store-flags.js";
import { checkChannelName, checkRuntimeName } from "../../core/names.js";

export const VERIFY_OPTION = {
  verify: {
    type: "string",
    value: "auto|all|changed",
    description: "which installed files to re-hash: all, only those the update changes, or auto (default)",
  },
} as const;

export const PLAN_OPTIONS = {
  packages: {
    type: "string",
    value: "<a,b>",
    description: "install exactly these packages (comma-separated)",
  },
  runtime: {
    type: "string",
    value: "<r>",
    description: "this app's runtime: only releases made for it are installed",
  },
  base: {
    type: "string",
    value: "<dir>",
    description: "read-only base directory: identical files there are not copied",
  },
} as const;

export function verifyMode(value: string | undefined, command: string): { verify?: VerifyMode } {
  if (value === undefined) return {};
  if (value !== "auto" && value !== "all" && value !== "changed")
    throw usage(`--verify must be auto, all or changed (got ${JSON.stringify(value)})`, command);
  return { verify: value };
}

/** `--packages a,b`: a comma-separated list of package names. */
export function packageList(value: string | undefined, command: string): { packages?: string[] } {
  if (value === undefined) return {};
  const names = value
    .split(",")
    .map((n) => n.trim())
    .filter((n) => n !== "");
  if (names.length === 0) throw usage("--packages needs at least one package name", command);
  return { packages: names };
}

/** `--wait-lock <seconds>`: wait for another updater instead of failing at once with E_LOCKED. */
export function lockWait(value: string | undefined, command: string): { lockWaitMs?: number } {
  if (value === undefined) return {};
  const seconds = Number(value);
  if (value.trim() === "" || !(seconds >= 0) || !Number.isFinite(seconds))
    throw usage(`--wait-lock must be a number of seconds (got ${JSON.stringify(value)})`, command);
  return { lockWaitMs: Math.round(seconds * 1000) };
}

/** Repository, install and trust arguments of update, check and ui, validated before anything is touched. */
export async function remoteOptions(values: Values, positionals: readonly string[], command: string) {
  const repoUrl = need(positionals[0], "<repo-url>", command);
  const installDir = need(positionals[1], "<install-dir>", command);
  // Names are checked here too, before the operation creates anything in a new install directory.
  const channel = str(values, "channel");
  if (channel !== undefined) checkChannelName(channel);
  checkRuntimeName(str(values, "runtime"));
  return {
    repoUrl,
    installDir,
    mirrors: mirrorList(list(values, "mirror")),
    ...network(values),
    ...(str(values, "channel") ? { channel: str(values, "channel")! } : {}),
    ...(flag(values, "allow-downgrade") ? { allowDowngrade: true } : {}),
    ...packageList(str(values, "packages"), command),
    ...(str(values, "runtime") === undefined ? {} : { runtime: str(values, "runtime")! }),
    ...(str(values, "base") === undefined ? {} : { base: str(values, "base")! }),
    trust: await trustOf(values, command),
  };
}

export const updateCommand: Command = {
  name: "update",
  summary: "install or update a game from a repository (resumes an interrupted update)",
  usage: ["<repo-url> <install-dir> --trust <root.pub|root.json>... [options]"],
  arguments: [
    ["<repo-url>", "the repository's base URL (http://, https://)"],
    ["<install-dir>", "the install; created on the first update"],
  ],
  maxPositionals: 2,
  options: {
    ...TRUST_OPTIONS,
    ...MIRROR_OPTION,
    ...CHANNEL_OPTION,
    "allow-downgrade": { type: "boolean", description: "accept a lower version or serial than installed" },
    force: {
      type: "boolean",
      description: "reinstall the current release in place: re-hash and rewrite every file",
    },
    "next-start": { type: "boolean", description: "stage the update now, apply it at the next 'ferry open'" },
    ...WAIT_LOCK_OPTION,
    ...VERIFY_OPTION,
    ...PLAN_OPTIONS,
    ...NETWORK_OPTIONS,
    ...JSON_OPTION,
  },
  notes:
    "Ctrl-C stops the update (E_ABORTED, exit 130); run the same command again to resume: verified chunks are kept.\nExit codes: 0 updated or already up to date, 1 failure, 2 usage error, 130 interrupted.",
  examples: [
    "update http://127.0.0.1:8080/ game/ --trust keys/ferry.pub",
    "update https://cdn.example.com/game/ game/ --trust root/1.json --packages base,hd-textures --json",
  ],
  interrupt: "abort",
  interruptHint: "Run the same command again to resume: the chunks already downloaded and verified are kept.",
  async run({ values, positionals, json, signal }) {
    const command = "update";
    const base = await remoteOptions(values, positionals, command);
    const { renderer, onEvent } = eventOutput(json);
    const result = await update({
      ...base,
      ...(flag(values, "force") ? { force: true } : {}),
      ...verifyMode(str(values, "verify"), command),
      ...(flag(values, "next-start") ? { applyOn: "next-start" as const } : {}),
      ...lockWait(str(values, "wait-lock"), command),
      signal,
      ...(await testHooks(base.installDir, onEvent)),
    });
    renderer.finish();
    if (json) out({ type: "result", ...result });
    else if (result.heldForRuntime)
      process.stdout.write(
        `Up to date for your runtime: ${result.version} (the channel's ${result.heldForRuntime.version} needs runtime ${result.heldForRuntime.runtime}).\n`,
      );
    else if (result.upToDate) process.stdout.write(`Already up to date: ${result.version}.\n`);
    else if (result.pending)
      process.stdout.write(
        `Staged ${result.previousVersion ?? "(fresh install)"} -> ${result.version}: applied at the next 'ferry open' (game start).\n`,
      );
    else
      process.stdout.write(
        `Updated ${result.previousVersion ?? "(fresh install)"} -> ${result.version} in ${(result.durationMs / 1000).toFixed(1)} s: downloaded ${formatBytes(result.bytesDownloaded)} ` +
          `(${formatBytes(result.metadataBytes)} metadata) in ${result.requests} requests (range mode: ${result.rangeMode}); ${result.filesWritten} files written, ` +
          `${result.filesDeleted} deleted, ${result.filesKept} unchanged; ${formatBytes(result.bytesReused)} reused from files already on disk` +
          (result.deltasApplied > 0 ? `; ${result.deltasApplied} files rebuilt from binary deltas` : "") +
          ".\n",
      );
    return 0;
  },
};
