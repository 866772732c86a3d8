import { canUpdate } from "../../client/ops/can-update.js";
import { type Command, need, out, str } from "../command.js";
import { JSON_OPTION } from "../option-groups.js";

export const canUpdateCommand: Command = {
  name: "can-update",
  summary: "say whether this install can be updated now (exit 1 with the reasons when not)",
  usage: ["<install-dir> [--runtime <r>] [--json]"],
  arguments: [["<install-dir>", "the install"]],
  maxPositionals: 1,
  options: {
    runtime: {
      type: "string",
      value: "<r>",
      description: "this app's runtime (refused when the install needs another)",
    },
    ...JSON_OPTION,
  },
  examples: ["can-update game/ --runtime engine-1"],
  async run({ values, positionals, json }) {
    const runtime = str(values, "runtime");
    const result = await canUpdate({
      installDir: need(positionals[0], "<install-dir>", "can-update"),
      ...(runtime === undefined ? {} : { runtime }),
    });
    if (json) out({ type: "result", ...result });
    else if (result.ok && result.directory)
      process.stdout.write(
        `Can install: no install yet in ${result.directory.exists ? "this directory" : "this directory (the first update creates it)"}; ${result.directory.empty ? "it is empty" : `${result.directory.entries} existing entr${result.directory.entries === 1 ? "y is" : "ies are"} adopted (files identical to the release are kept, not downloaded)`}.\n`,
      );
    else if (result.ok) process.stdout.write(`Can update (installed: ${result.version}).\n`);
    else for (const r of result.reasons) process.stdout.write(`Cannot update: ${r.code}: ${r.message}\n`);
    return result.ok ? 0 : 1;
  },
};
