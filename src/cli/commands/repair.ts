import { repair } from "../../client/ops/repair.js";
import { formatBytes } from "../../core/format-bytes.js";
import { type Command, list, need, out } from "../command.js";
import { eventOutput, testHooks } from "../client-run.js";
import {
  JSON_OPTION,
  MIRROR_OPTION,
  network,
  NETWORK_OPTIONS,
  TRUST_OPTIONS,
  trustOf,
} from "../option-groups.js";
import { mirrorList } from "../store-flags.js";

export const repairCommand: Command = {
  name: "repair",
  summary: "re-hash the installed release and restore missing or changed files (only damaged chunks)",
  usage: ["<repo-url> <install-dir> --trust <root.pub|root.json>... [options]"],
  arguments: [
    ["<repo-url>", "the repository's base URL"],
    ["<install-dir>", "the install to repair"],
  ],
  maxPositionals: 2,
  options: { ...TRUST_OPTIONS, ...MIRROR_OPTION, ...NETWORK_OPTIONS, ...JSON_OPTION },
  examples: ["repair http://127.0.0.1:8080/ game/ --trust keys/ferry.pub"],
  interrupt: "abort",
  interruptHint: "Nothing is left half-written; run the same command again to finish the repair.",
  async run({ values, positionals, json, signal }) {
    const command = "repair";
    const repoUrl = need(positionals[0], "<repo-url>", command);
    const installDir = need(positionals[1], "<install-dir>", command);
    const mirrors = mirrorList(list(values, "mirror"));
    const settings = network(values);
    const trust = await trustOf(values, command);
    const { renderer, onEvent } = eventOutput(json);
    const result = await repair({
      repoUrl,
      mirrors,
      installDir,
      trust,
      ...settings,
      signal,
      ...(await testHooks(installDir, onEvent)),
    });
    renderer.finish();
    if (json) out({ type: "result", ...result });
    else {
      for (const p of result.problems) process.stdout.write(`${p.problem.padEnd(10)} ${p.path}\n`);
      for (const path of result.untracked) process.stdout.write(`untracked  ${path} (kept)\n`);
      process.stdout.write(
        result.filesRepaired === 0
          ? `OK: ${result.filesChecked} files of version ${result.version} verified (${formatBytes(result.bytesChecked)}); nothing to repair.\n`
          : `Repaired ${result.filesRepaired} of ${result.filesChecked} files of version ${result.version}: downloaded ${formatBytes(result.bytesDownloaded)} ` +
              `(${formatBytes(result.metadataBytes)} metadata) in ${result.requests} requests; ${formatBytes(result.bytesReused)} reused from files on disk.\n`,
      );
    }
    return 0;
  },
};
