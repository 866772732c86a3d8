import { formatBytes } from "../../core/format-bytes.js";
import { prune, type PruneResult } from "../../publisher/prune.js";
import { type Command, flag, need, out, str, usage } from "../command.js";
import { JSON_OPTION, STORE_OPTIONS, storeSettings } from "../option-groups.js";

export function formatPrune(result: PruneResult): string {
  const lines = result.channels.map(
    (c) =>
      `Channel '${c.channel}': keeping ${c.kept.join(", ")}` +
      (c.graceKept.length > 0 ? `; within the grace period also ${c.graceKept.join(", ")}` : ""),
  );
  const verb = result.applied ? "Deleted" : "Would delete";
  for (const o of result.garbage) lines.push(`${verb} ${o.path} (${formatBytes(o.size)})`);
  lines.push(
    `${verb} ${result.garbage.length} object(s), ${formatBytes(result.garbageBytes)}, from ${result.location}.` +
      (result.young.length > 0
        ? ` Kept ${result.young.length} unreachable object(s) (${formatBytes(result.youngBytes)}) younger than the grace period.`
        : "") +
      (result.applied ? "" : " Dry run: add --apply to delete."),
  );
  return `${lines.join("\n")}\n`;
}

export const pruneCommand: Command = {
  name: "prune",
  summary: "delete objects only older releases use (a dry run unless --apply)",
  usage: ["--repo <repo-dir|s3://bucket/prefix> --keep <n> [--grace-days 7] [--apply] [--json]"],
  maxPositionals: 0,
  options: {
    ...STORE_OPTIONS,
    keep: { type: "string", value: "<n>", description: "releases to keep per channel (the newest)" },
    "grace-days": {
      type: "string",
      value: "<days>",
      description: "keep unreachable objects younger than this (default 7)",
    },
    apply: { type: "boolean", description: "delete (without it: only list what would be deleted)" },
    ...JSON_OPTION,
  },
  examples: ["prune --repo repo/ --keep 5", "prune --repo repo/ --keep 5 --grace-days 7 --apply"],
  async run({ values, json }) {
    const command = "prune";
    const repo = need(str(values, "repo"), "--repo <repo-dir>", command);
    const keepText = need(str(values, "keep"), "--keep <n>", command);
    const keep = Number(keepText);
    if (!Number.isSafeInteger(keep) || keep < 1)
      throw usage(`--keep must be a positive integer (got ${JSON.stringify(keepText)})`, command);
    const graceText = str(values, "grace-days");
    const grace = graceText === undefined ? undefined : Number(graceText);
    if (grace !== undefined && !(graceText!.trim() !== "" && grace >= 0 && Number.isFinite(grace)))
      throw usage(`--grace-days must be a number of days >= 0 (got ${JSON.stringify(graceText)})`, command);
    const result = await prune({
      repo,
      s3: storeSettings(values),
      keep,
      ...(grace !== undefined ? { graceDays: grace } : {}),
      apply: flag(values, "apply"),
    });
    if (json) out({ type: "result", ...result });
    else process.stdout.write(formatPrune(result));
    return 0;
  },
};
