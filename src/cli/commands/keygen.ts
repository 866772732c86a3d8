import { keygen } from "../../publisher/keygen.js";
import { type Command, need, out, str } from "../command.js";
import { JSON_OPTION } from "../option-groups.js";

export const keygenCommand: Command = {
  name: "keygen",
  summary: "write a new Ed25519 signing key pair (<name>.key, secret; <name>.pub)",
  usage: ["<dir> [--name ferry] [--json]"],
  arguments: [["<dir>", "where to write the key files (created if missing)"]],
  maxPositionals: 1,
  options: {
    name: { type: "string", value: "<name>", description: "the key files' base name (default ferry)" },
    ...JSON_OPTION,
  },
  examples: ["keygen keys/", "keygen keys/ --name root"],
  async run({ values, positionals, json }) {
    const result = await keygen(need(positionals[0], "<dir>", "keygen"), str(values, "name") ?? "ferry");
    if (json) out({ type: "result", ...result });
    else
      process.stdout.write(
        `Wrote ${result.privateKeyPath} (keep it secret) and ${result.publicKeyPath} (ship it with your game).\nKey id: ${result.keyid}\n`,
      );
    return 0;
  },
};
