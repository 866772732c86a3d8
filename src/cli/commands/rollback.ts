import { rollback } from "../../client/ops/launch.js";
import { type Command, need, out } from "../command.js";
import { testHooks } from "../client-run.js";
import { JSON_OPTION } from "../option-groups.js";

export const rollbackCommand: Command = {
  name: "rollback",
  summary: "restore the previous release (kept at the last update) and block the current one",
  usage: ["<install-dir> [--json]"],
  arguments: [["<install-dir>", "the install"]],
  maxPositionals: 1,
  options: { ...JSON_OPTION },
  examples: ["rollback game/"],
  async run({ positionals, json }) {
    const dir = need(positionals[0], "<install-dir>", "rollback");
    const { fs } = await testHooks(dir, () => undefined);
    const result = await rollback({ installDir: dir, ...(fs ? { fs } : {}) });
    if (json) out({ type: "result", ...result });
    else
      process.stdout.write(
        `Rolled back ${result.fromVersion} -> ${result.version}: ${result.filesRestored} files restored, ${result.filesDeleted} removed; ${result.fromVersion} is blocked until a newer release is published ('ferry unblock ${dir} ${result.fromVersion}' allows it again).\n`,
      );
    return 0;
  },
};
