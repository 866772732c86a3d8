import { planPublish } from "../../publisher/plan-publish.js";
import { formatPublishPlan } from "../publish-plan.js";
import { formatBytes } from "../../core/format-bytes.js";
import { FerryError } from "../../core/errors.js";
import { formatExpiryWarning } from "../../publisher/expiry-warnings.js";
import { publish } from "../../publisher/publish.js";
import {
  type Command,
  expiryDays,
  flag,
  list,
  need,
  out,
  positiveInteger,
  str,
  usage,
  type Values,
} from "../command.js";
import { loadSigningKeys } from "../key-files.js";
import {
  CHANNEL_OPTION,
  JSON_OPTION,
  SIGNING_KEY_OPTION,
  STORE_OPTIONS,
  storeSettings,
} from "../option-groups.js";
import { ProgressRenderer } from "../render.js";

function manifestLayout(value: string): "auto" | "inline" | "tree" {
  if (value === "auto" || value === "inline" || value === "tree") return value;
  throw new FerryError("E_USAGE", `Invalid --layout ${JSON.stringify(value)}: use auto, inline or tree.`, {
    layout: value,
  });
}

/** A number flag passed to publish as given (publish itself checks ranges and explains them). */
function numeric(values: Values, name: string): number | undefined {
  const text = str(values, name);
  if (text === undefined) return undefined;
  if (text.trim() === "" || !Number.isFinite(Number(text)))
    throw usage(`--${name} must be a number (got ${JSON.stringify(text)})`, "publish");
  return Number(text);
}

export const publishCommand: Command = {
  name: "publish",
  summary: "publish a build folder as a signed release on a channel",
  usage: ["<build-dir> --repo <repo-dir|s3://bucket/prefix> --version <v> --key <release.key>... [options]"],
  arguments: [["<build-dir>", "the folder holding the game build (ferry-packages.json optional)"]],
  maxPositionals: 1,
  options: {
    ...STORE_OPTIONS,
    version: {
      type: "string",
      value: "<v>",
      description: "the release's version (above the channel's current one)",
    },
    ...SIGNING_KEY_OPTION,
    ...CHANNEL_OPTION,
    "expires-days": {
      type: "string",
      value: "<days>",
      description: "the pointer's expiry (default 90; renew with 'ferry resign')",
    },
    quality: { type: "string", value: "0-11", description: "Brotli quality of new chunks" },
    "delta-history": {
      type: "string",
      value: "0-8",
      description: "earlier releases to build binary deltas from (default 3)",
    },
    layout: { type: "string", value: "auto|inline|tree", description: "manifest layout (default auto)" },
    solid: {
      type: "boolean",
      description:
        "compress small files together in solid blocks (clients before the feature refuse the release)",
    },
    notes: { type: "string", value: "<text>", description: "release notes shown by the update screen" },
    runtime: {
      type: "string",
      value: "<r>",
      description: "the runtime (app/engine build) the release needs",
    },
    mandatory: { type: "boolean", description: "mark the release mandatory" },
    "min-version": {
      type: "string",
      value: "<v>",
      description: "versions below this must update before playing",
    },
    rollout: {
      type: "string",
      value: "<pct>",
      description: "offer the release to this share of players first",
    },
    "upload-concurrency": { type: "string", value: "<n>", description: "parallel uploads (default 4)" },
    "allow-empty": {
      type: "boolean",
      description: "publish a build with no files (every client deletes the game)",
    },
    "allow-downgrade": {
      type: "boolean",
      description: "publish a version not above the channel's current one",
    },
    "allow-short-expiry": { type: "boolean", description: "accept a pointer that expires within a week" },
    "dry-run": {
      type: "boolean",
      description: "show what would change, per package, and what players would download; write nothing",
    },
    last: {
      type: "string",
      value: "<n>",
      description: "with --dry-run: how many earlier releases get a download figure (default 5)",
    },
    ...JSON_OPTION,
  },
  notes:
    "A repository without root metadata gets root/1.json in which the publishing key is root and release key;\nsee docs/SECURITY.md for an offline root key and rotation. SOURCE_DATE_EPOCH sets the release time.",
  examples: [
    "publish build/ --repo repo/ --version 1.2.0 --key keys/ferry.key",
    'publish build/ --repo s3://bucket/game --version 1.2.1 --key keys/release.key --rollout 10 --notes "Fixes"',
  ],
  interruptHint:
    "Players still get the channel's previous release (its pointer is written last); run the same command again to publish.",
  async run({ values, positionals, json }) {
    const command = "publish";
    const epoch = process.env.SOURCE_DATE_EPOCH;
    const buildDir = need(positionals[0], "<build-dir>", command);
    const repo = need(str(values, "repo"), "--repo <repo-dir>", command);
    const version = need(str(values, "version"), "--version <version>", command);
    const keyFiles = need(list(values, "key"), "--key <release.key>", command);
    const expiresDays = expiryDays(str(values, "expires-days"), command);
    const concurrency = positiveInteger(str(values, "upload-concurrency"), "--upload-concurrency", command);
    const layout = str(values, "layout");
    const quality = numeric(values, "quality");
    const deltaHistory = numeric(values, "delta-history");
    const rollout = numeric(values, "rollout");
    const renderer = new ProgressRenderer(process.stderr);
    const optional = (name: string, key: string) =>
      str(values, name) === undefined ? {} : { [key]: str(values, name)! };
    const options: Parameters<typeof publish>[0] = {
      buildDir,
      repo,
      s3: storeSettings(values),
      ...(concurrency ? { upload: { concurrency } } : {}),
      version,
      key: await loadSigningKeys(keyFiles, "--key"),
      ...optional("channel", "channel"),
      ...(epoch ? { created: new Date(Number(epoch) * 1000) } : {}),
      ...(expiresDays ? { expiresInDays: expiresDays } : {}),
      ...(quality === undefined ? {} : { quality }),
      ...(deltaHistory === undefined ? {} : { deltaHistory }),
      ...(layout === undefined ? {} : { layout: manifestLayout(layout) }),
      ...(flag(values, "solid") ? { solid: true } : {}),
      ...optional("notes", "notes"),
      ...optional("runtime", "runtime"),
      ...(flag(values, "mandatory") ? { mandatory: true } : {}),
      ...optional("min-version", "minVersion"),
      ...(rollout === undefined ? {} : { rolloutPercent: rollout }),
      ...(flag(values, "allow-empty") ? { allowEmpty: true } : {}),
      ...(flag(values, "allow-downgrade") ? { allowDowngrade: true } : {}),
      ...(flag(values, "allow-short-expiry") ? { allowShortExpiry: true } : {}),
      onEvent: (event) => {
        if (json) out(event);
        else if (event.type === "expiry-warning") renderer.line(formatExpiryWarning(event));
        else renderer.publish(event);
      },
    };
    if (flag(values, "dry-run")) {
      const lastText = str(values, "last");
      const last = lastText === undefined ? undefined : Number(lastText);
      if (last !== undefined && !(Number.isSafeInteger(last) && last >= 0))
        throw usage("--last must be an integer >= 0", command);
      const plan = await planPublish({ ...options, ...(last === undefined ? {} : { last }) });
      renderer.finish();
      if (json) out({ type: "result", dryRun: true, ...plan });
      else process.stdout.write(formatPublishPlan(plan, repo));
      return plan.wouldPublish ? 0 : 1;
    }
    if (str(values, "last") !== undefined) throw usage("--last is only for --dry-run", command);
    const result = await publish(options);
    renderer.finish();
    if (json) out({ type: "result", ...result });
    else
      process.stdout.write(
        `Published ${result.version} to channel '${result.channel}' (serial ${result.serial}): ${result.files} files, ${formatBytes(result.bytes)}; ` +
          `${result.newChunks} of ${result.chunks} chunks new, ${formatBytes(result.storedBytes)} written in ${result.newPacks} pack(s); manifest ${formatBytes(result.manifestBytes)}.\n`,
      );
    return 0;
  },
};
