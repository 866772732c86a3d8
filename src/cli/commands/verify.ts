import { verify } from "../../client/ops/inspect.js";
import { formatBytes } from "../../core/format-bytes.js";
import { type Command, need, out } from "../command.js";
import { JSON_OPTION } from "../option-groups.js";

export const verifyCommand: Command = {
  name: "verify",
  summary: "re-hash every installed file against the signed release (read-only; exit 1 when damaged)",
  usage: ["<install-dir> [--json]"],
  arguments: [["<install-dir>", "the install"]],
  maxPositionals: 1,
  options: { ...JSON_OPTION },
  examples: ["verify game/"],
  async run({ positionals, json }) {
    const result = await verify({ installDir: need(positionals[0], "<install-dir>", "verify") });
    if (json) out({ type: "result", ...result });
    else {
      for (const p of result.problems) process.stdout.write(`${p.problem.padEnd(10)} ${p.path}\n`);
      process.stdout.write(
        result.ok
          ? `OK: ${result.filesChecked} files of version ${result.version} verified (${formatBytes(result.bytesChecked)}).\n`
          : `DAMAGED: ${result.problems.length} of ${result.filesChecked} files missing or changed. Run 'ferry repair <repo-url> <install-dir> --trust <key>' to restore them (only the damaged chunks are downloaded).\n`,
      );
    }
    return result.ok ? 0 : 1;
  },
};
