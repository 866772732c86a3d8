import { unblock } from "../../client/ops/unblock.js";
import { type Command, flag, need, out, usage } from "../command.js";
import { testHooks } from "../client-run.js";
import { JSON_OPTION } from "../option-groups.js";

export const unblockCommand: Command = {
  name: "unblock",
  summary: "allow a release blocked by a rollback again (docs/ROLLBACK.md)",
  usage: ["<install-dir> <version> [--json]", "<install-dir> --all [--json]"],
  arguments: [
    ["<install-dir>", "the install"],
    ["<version>", "the blocked version to allow again"],
  ],
  maxPositionals: 2,
  options: { all: { type: "boolean", description: "lift every block" }, ...JSON_OPTION },
  examples: ["unblock game/ 1.3.0", "unblock game/ --all"],
  async run({ values, positionals, json }) {
    const command = "unblock";
    const dir = need(positionals[0], "<install-dir>", command);
    const version = positionals[1];
    if ((version === undefined) === !flag(values, "all"))
      throw usage(
        "Give the blocked version to allow again, or --all ('ferry unblock <install-dir> <version>')",
        command,
      );
    const { fs } = await testHooks(dir, () => undefined);
    const result = await unblock({
      installDir: dir,
      ...(version === undefined ? { all: true } : { version }),
      ...(fs ? { fs } : {}),
    });
    if (json) out({ type: "result", ...result });
    else
      process.stdout.write(
        result.unblocked.length === 0
          ? "No release was blocked.\n"
          : `Unblocked ${result.unblocked.map((b) => b.version).join(", ")}: the next update may install ${result.unblocked.length === 1 ? "it" : "them"} again.\n`,
      );
    return 0;
  },
};
