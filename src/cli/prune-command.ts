import { FerryError } from "../core/errors.js";
import { prune, type PruneResult } from "../publisher/prune.js";
import { formatBytes } from "../core/format-bytes.js";
import { s3Settings } from "./store-flags.js";

type Flags = Parameters<typeof s3Settings>[0] & {
  readonly repo?: string | undefined;
  readonly keep?: string | undefined;
  readonly "grace-days"?: string | undefined;
  readonly apply?: boolean | undefined;
};

function usage(message: string): FerryError {
  return new FerryError("E_USAGE", `${message}. Run 'ferry --help' for usage.`);
}

/** `ferry prune`: flags to prune() options. */
export function runPrune(values: Flags): Promise<PruneResult> {
  if (values.repo === undefined) throw usage("Missing --repo <repo-dir>");
  if (values.keep === undefined) throw usage("Missing --keep <n>");
  const keep = Number(values.keep);
  if (!Number.isSafeInteger(keep) || keep < 1) throw usage("--keep must be a positive integer");
  const grace = values["grace-days"] === undefined ? undefined : Number(values["grace-days"]);
  if (grace !== undefined && !(grace >= 0 && Number.isFinite(grace)))
    throw usage("--grace-days must be a number of days >= 0");
  return prune({
    repo: values.repo,
    s3: s3Settings(values),
    keep,
    ...(grace !== undefined ? { graceDays: grace } : {}),
    apply: values.apply === true,
  });
}

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
