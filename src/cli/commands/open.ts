import { open } from "../../client/ops/launch.js";
import { type Command, need, out, str, usage } from "../command.js";
import { testHooks } from "../client-run.js";
import { JSON_OPTION } from "../option-groups.js";

export const openCommand: Command = {
  name: "open",
  summary: "at game start: apply a staged update, count the launch, roll back after failed launches",
  usage: ["<install-dir> [--max-launches 2] [--json]"],
  arguments: [["<install-dir>", "the install"]],
  maxPositionals: 1,
  options: {
    "max-launches": {
      type: "string",
      value: "<n>",
      description: "launches without 'ferry mark-healthy' before rolling back (default 2)",
    },
    ...JSON_OPTION,
  },
  examples: ["open game/ --max-launches 3"],
  async run({ values, positionals, json }) {
    const dir = need(positionals[0], "<install-dir>", "open");
    const text = str(values, "max-launches");
    const limit = text === undefined ? undefined : Number(text);
    if (text !== undefined && (text.trim() === "" || !Number.isInteger(limit)))
      throw usage(`--max-launches must be an integer (got ${JSON.stringify(text)})`, "open");
    const { fs } = await testHooks(dir, () => undefined);
    const result = await open({
      installDir: dir,
      ...(limit === undefined ? {} : { maxUnhealthyLaunches: limit }),
      ...(fs ? { fs } : {}),
    });
    if (json) out({ type: "result", ...result });
    else
      process.stdout.write(
        (result.staged.applied
          ? `Applied the staged update ${result.staged.fromVersion ?? "(fresh)"} -> ${result.staged.version}.\n`
          : "") +
          (result.rolledBack ? `${result.rolledBack.message}\n` : "") +
          `Starting ${result.version} (${result.healthy ? "healthy" : `launch ${result.launches} before being marked healthy`}).\n`,
      );
    return 0;
  },
};
