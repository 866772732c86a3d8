import { type CheckAnswer, cachedCheck } from "../../client/ops/check-cache.js";
import { check } from "../../client/ops/update.js";
import { formatBytes } from "../../core/format-bytes.js";
import { daysLeft, EXPIRY_WARNING_DAYS } from "../../publisher/publish-guards.js";
import { type Command, out, str, usage } from "../command.js";
import { eventOutput, testHooks } from "../client-run.js";
import {
  CHANNEL_OPTION,
  JSON_OPTION,
  MIRROR_OPTION,
  NETWORK_OPTIONS,
  TRUST_OPTIONS,
} from "../option-groups.js";
import { PLAN_OPTIONS, remoteOptions, VERIFY_OPTION, verifyMode } from "./update.js";

/** " (answered from the cache, 12 s old)" and the like, for a cached check; a newline either way. */
function describeSource(result: object): string {
  if (!("source" in result)) return "\n";
  const answer = result as CheckAnswer;
  const age = `${Math.round(answer.ageMs / 1000)} s old`;
  switch (answer.source) {
    case "cache":
      return ` (cached answer, ${age})\n`;
    case "not-modified":
      return " (channel unchanged: HTTP 304)\n";
    case "offline":
      return ` (OFFLINE: cached answer, ${age}; ${answer.offlineError?.code ?? ""})\n`;
    default:
      return "\n";
  }
}

export const checkCommand: Command = {
  name: "check",
  summary: "say whether an update is available and what it would download (changes nothing)",
  usage: ["<repo-url> <install-dir> --trust <root.pub|root.json>... [options]"],
  arguments: [
    ["<repo-url>", "the repository's base URL"],
    ["<install-dir>", "the install (need not exist yet: a first install is planned)"],
  ],
  maxPositionals: 2,
  options: {
    ...TRUST_OPTIONS,
    ...MIRROR_OPTION,
    ...CHANNEL_OPTION,
    "allow-downgrade": { type: "boolean", description: "accept a lower version or serial than installed" },
    "max-age": {
      type: "string",
      value: "<s>",
      description: "answer from a cached check younger than this (ETag/304 revalidation, offline fallback)",
    },
    ...VERIFY_OPTION,
    ...PLAN_OPTIONS,
    ...NETWORK_OPTIONS,
    ...JSON_OPTION,
  },
  examples: [
    "check http://127.0.0.1:8080/ game/ --trust keys/ferry.pub",
    "check https://cdn.example.com/game/ game/ --trust keys/ferry.pub --max-age 3600 --json",
  ],
  interrupt: "abort",
  interruptHint: "Nothing was changed.",
  async run({ values, positionals, json, signal }) {
    const command = "check";
    const maxAgeText = str(values, "max-age");
    const maxAge = maxAgeText === undefined ? undefined : Number(maxAgeText);
    if (maxAge !== undefined && !(maxAgeText!.trim() !== "" && maxAge >= 0 && Number.isFinite(maxAge)))
      throw usage(`--max-age must be a number of seconds (got ${JSON.stringify(maxAgeText)})`, command);
    const base = await remoteOptions(values, positionals, command);
    const { onEvent } = eventOutput(json);
    const options = {
      ...base,
      ...verifyMode(str(values, "verify"), command),
      signal,
      ...(await testHooks(base.installDir, onEvent)),
    };
    const result =
      maxAge === undefined
        ? await check(options)
        : await cachedCheck({ ...options, maxAgeMs: maxAge * 1000 });
    const left = daysLeft(result.expires, new Date());
    if (json) out({ type: "result", ...result, expiresInDays: left });
    else {
      if (left < EXPIRY_WARNING_DAYS)
        process.stderr.write(
          `warning: the channel's signed pointer expires in ${left} day(s) (${result.expires}); after that checks and updates fail with E_EXPIRED until the publisher runs 'ferry resign' (the installed game keeps starting).\n`,
        );
      process.stdout.write(
        (result.heldForRuntime
          ? `Up to date for your runtime: ${result.version} (the channel's ${result.heldForRuntime.version} needs runtime ${result.heldForRuntime.runtime}).`
          : result.updateAvailable
            ? `Update available: ${result.installedVersion ?? "(not installed)"} -> ${result.version}, ${formatBytes(result.downloadBytes)} to download, ${result.filesToWrite} files to write, ${result.filesToDelete} to delete.${result.mandatory ? " Mandatory." : ""}${result.mustUpdate ? ` Versions below ${result.minVersion} must update before playing.` : ""}`
            : `Up to date: ${result.version}.`) + describeSource(result),
      );
    }
    return 0;
  },
};
