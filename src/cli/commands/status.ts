import { status } from "../../client/ops/inspect.js";
import type { LifecycleStatus } from "../../client/ops/lifecycle-status.js";
import { formatBytes } from "../../core/format-bytes.js";
import { type Command, need, out } from "../command.js";
import { JSON_OPTION } from "../option-groups.js";

/** `ferry status` lines about the lifecycle (channel rollout bucket, health, previous, last error). */
export function formatLifecycle(l: LifecycleStatus): string {
  const lines = [
    `  health: ${l.healthy ? "healthy" : `not yet marked healthy (${l.launches} launch${l.launches === 1 ? "" : "es"})`}; ` +
      `rollback to: ${l.previousVersion ?? "(none kept)"}${l.pending ? "; a staged update waits for the next start" : ""}`,
    `  rollout bucket: ${l.rolloutBucket === null ? "(channel not in a staged rollout)" : `${l.rolloutBucket} of 10000 (rollout reaches buckets below ${l.rolloutBasisPoints})`}; install id ${l.installId ?? "(not created yet)"}`,
    ...l.blocked.map((b) => `  blocked: ${b.version} since ${b.time} (${b.code}: ${b.message})`),
    `  last error: ${l.lastError ? `${l.lastError.time} ${l.lastError.kind} ${l.lastError.code}: ${l.lastError.message}` : "(none)"}`,
  ];
  return `${lines.join("\n")}\n`;
}

export const statusCommand: Command = {
  name: "status",
  summary: "show the installed version, channel, packages, health and last error (read-only)",
  usage: ["<install-dir> [--json]"],
  arguments: [["<install-dir>", "the install"]],
  maxPositionals: 1,
  options: { ...JSON_OPTION },
  examples: ["status game/", "status game/ --json"],
  async run({ positionals, json }) {
    const result = await status({ installDir: need(positionals[0], "<install-dir>", "status") });
    if (json) out({ type: "result", ...result });
    else
      process.stdout.write(
        `${result.installDir}: version ${result.version} (channel '${result.channel}', serial ${result.serial}) from ${result.repo}; ${result.files} files, ${formatBytes(result.bytes)}.\n` +
          `installed packages: ${result.packages.join(", ") || "(none)"}` +
          (result.runtime ? `; runtime ${result.runtime}` : "") +
          (result.base ? `; base ${result.base}` : "") +
          ".\n" +
          formatLifecycle(result.lifecycle),
      );
    return 0;
  },
};
