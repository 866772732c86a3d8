import { type Command, portNumber, str, usage } from "../command.js";
import { testHooks } from "../client-run.js";
import { CHANNEL_OPTION, MIRROR_OPTION, NETWORK_OPTIONS, TRUST_OPTIONS } from "../option-groups.js";
import { runUpdateScreen } from "../ui-command.js";
import { PLAN_OPTIONS, remoteOptions } from "./update.js";

export const uiCommand: Command = {
  name: "ui",
  summary: "serve the update screen for one install on 127.0.0.1 (Ctrl-C to stop)",
  usage: [
    "<repo-url> <install-dir> --trust <root.pub|root.json>... [--port 0] [--simulate available|not-available|error]",
  ],
  arguments: [
    ["<repo-url>", "the repository's base URL"],
    ["<install-dir>", "the install the screen checks and updates"],
  ],
  maxPositionals: 2,
  options: {
    ...TRUST_OPTIONS,
    ...MIRROR_OPTION,
    ...CHANNEL_OPTION,
    "allow-downgrade": { type: "boolean", description: "accept a lower version or serial than installed" },
    port: { type: "string", value: "<n>", description: "port on 127.0.0.1 (default 0: any free port)" },
    simulate: {
      type: "string",
      value: "available|not-available|error",
      description: "show simulated releases instead of the repository's (the install is not touched)",
    },
    ...PLAN_OPTIONS,
    ...NETWORK_OPTIONS,
  },
  examples: ["ui http://127.0.0.1:8080/ game/ --trust keys/ferry.pub --port 8090"],
  interrupt: "stop",
  async run({ values, positionals, signal }) {
    const command = "ui";
    const port = portNumber(str(values, "port"), 0, command);
    const mode = str(values, "simulate");
    if (mode !== undefined && mode !== "available" && mode !== "not-available" && mode !== "error")
      throw usage(
        `--simulate must be available, not-available or error (got ${JSON.stringify(mode)})`,
        command,
      );
    const base = await remoteOptions(values, positionals, command);
    // The screen shows the progress; the terminal only says where it is served.
    const hooks = await testHooks(base.installDir, () => undefined);
    await runUpdateScreen(
      { ...base, ...hooks, onEvent: () => undefined, ...(mode ? { simulate: { mode } } : {}) },
      port,
      (line) => process.stdout.write(`${line}\n`),
      signal,
    );
    return 0;
  },
};
