import { formatBytes } from "../core/format-bytes.js";
import { formatExpiryWarning } from "../publisher/expiry-warnings.js";
import type { PackageChanges, PublishPlan } from "../publisher/plan-publish.js";

/** Paths listed per kind and package before "… and N more" (--json has them all). */
const MAX_LISTED = 20;

/** `ferry publish --dry-run` for people: what would change, what players would download, what would refuse. */
export function formatPublishPlan(plan: PublishPlan, repo: string): string {
  const r = plan.result;
  const lines: string[] = [];
  lines.push(`Dry run: nothing was written to ${repo}.`);
  const replacing = plan.current
    ? `replacing ${plan.current.version} (serial ${plan.current.serial})`
    : "the channel's first release";
  lines.push(
    `${plan.wouldPublish ? "Would publish" : "Would REFUSE to publish"} ${r.version} to channel '${r.channel}' as serial ${r.serial}, ${replacing}: ${r.files} files, ${formatBytes(r.bytes)}.`,
  );
  for (const refusal of plan.refusals) lines.push(`  refused (${refusal.reason}): ${refusal.message}`);
  const t = plan.totals;
  lines.push(
    `Changes${plan.current ? ` against ${plan.current.version}` : ""}: ${t.added} added, ${t.changed} changed, ${t.removed} removed, ${t.moved} moved between packages, ${t.unchanged} unchanged.`,
  );
  for (const p of plan.packages) lines.push(...packageLines(p));
  lines.push(
    `Would upload ${plan.uploads.objects} objects, ${formatBytes(plan.uploads.bytes)}: ${r.newChunks} of ${r.chunks} chunks new in ${r.newPacks} pack(s) (${formatBytes(r.storedBytes)}), ${r.deltas} deltas, manifest ${formatBytes(r.manifestBytes)} (${r.layout}).`,
  );
  lines.push("Players would download (default packages, as `ferry report` counts):");
  for (const d of plan.downloads) {
    const who = d.from === null ? "fresh install" : `on ${d.from}`;
    const deltas = d.deltas > 0 ? `, ${d.deltas} from deltas` : "";
    lines.push(
      `  ${who.padEnd(16)} ${formatBytes(d.totalBytes).padStart(10)}: payload ${formatBytes(d.payloadBytes)} in ${d.payloadRequests} request(s) + metadata ${formatBytes(d.metadataBytes)}; ${d.filesWritten} files written${deltas}, ${d.filesDeleted} deleted`,
    );
  }
  for (const w of plan.warnings) lines.push(formatExpiryWarning(w));
  return `${lines.join("\n")}\n`;
}

function packageLines(p: PackageChanges): string[] {
  const title = `  package ${p.name}${p.optional === true ? " (optional)" : p.optional === null ? " (no longer in the release)" : ""}`;
  const counts = [
    `${p.added.length} added`,
    `${p.changed.length} changed`,
    `${p.removed.length} removed`,
    ...(p.moved.length > 0 ? [`${p.moved.length} moved in`] : []),
    `${p.unchanged} unchanged`,
  ];
  const lines = [`${title}: ${counts.join(", ")}`];
  const list = (mark: string, paths: readonly string[]) => {
    for (const path of paths.slice(0, MAX_LISTED)) lines.push(`    ${mark} ${path}`);
    if (paths.length > MAX_LISTED)
      lines.push(`    ${mark} … and ${paths.length - MAX_LISTED} more (--json lists all)`);
  };
  list("+", p.added);
  list("~", p.changed);
  list("-", p.removed);
  list(">", p.moved);
  return lines;
}
