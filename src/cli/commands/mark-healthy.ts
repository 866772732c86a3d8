import { markHealthy } from "../../client/ops/launch.js";
import { type Command, need, out } from "../command.js";
import { JSON_OPTION } from "../option-groups.js";

export const markHealthyCommand: Command = {
  name: "mark-healthy",
  summary: "the game started fine: stop counting launches toward a rollback",
  usage: ["<install-dir> [--json]"],
  arguments: [["<install-dir>", "the install"]],
  maxPositionals: 1,
  options: { ...JSON_OPTION },
  examples: ["mark-healthy game/"],
  async run({ positionals, json }) {
    const health = await markHealthy({ installDir: need(positionals[0], "<install-dir>", "mark-healthy") });
    if (json) out({ type: "result", ...health });
    else process.stdout.write("Marked healthy.\n");
    return 0;
  },
};
