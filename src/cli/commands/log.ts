import { readUpdateLog } from "../../client/install/update-log.js";
import { type Command, need, out } from "../command.js";
import { JSON_OPTION } from "../option-groups.js";

export const logCommand: Command = {
  name: "log",
  summary: "updates, rollbacks and refusals of an install, with their reasons (read-only)",
  usage: ["<install-dir> [--json]"],
  arguments: [["<install-dir>", "the install"]],
  maxPositionals: 1,
  options: { ...JSON_OPTION },
  examples: ["log game/", "log game/ --json"],
  async run({ positionals, json }) {
    const entries = await readUpdateLog({ installDir: need(positionals[0], "<install-dir>", "log") });
    for (const e of entries) {
      if (json) out(e);
      else process.stdout.write(`${e.time} ${e.kind.padEnd(16)} ${e.code.padEnd(20)} ${e.message}\n`);
    }
    return 0;
  },
};
