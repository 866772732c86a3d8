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
        `Wrote ${result.privateKeyPath} (secret: never ship it) and ${result.publicKeyPath} (public).\nKey id: ${result.keyid}\nGames trust the repository's root key: ship ${result.publicKeyPath} with your game only if this key is the root key (a repository's first publish makes its key root and release key); with a separate release key, ship the root key's .pub or root/1.json.\n`,
      );
    return 0;
  },
};
