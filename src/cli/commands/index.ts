/**
 * The registry of `ferry` commands, in the order `ferry --help` lists them. To add a command, write
 * src/cli/commands/<name>.ts exporting a Command (own options, help, run) — or a RawCommand for a front
 * end that parses its own arguments — and add it to COMMANDS: dispatch, help, `ferry help <name>`,
 * suggestions and test/cli/cli-options.test.ts pick it up from here.
 */
import type { AnyCommand } from "../command.js";
import { canUpdateCommand } from "./can-update.js";
import { checkCommand } from "./check.js";
import { cocosManifestCommand } from "./cocos-manifest.js";
import { keygenCommand } from "./keygen.js";
import { logCommand } from "./log.js";
import { markHealthyCommand } from "./mark-healthy.js";
import { mountCommand } from "./mount.js";
import { openCommand } from "./open.js";
import { packagesCommand } from "./packages.js";
import { pruneCommand } from "./prune.js";
import { publishCommand } from "./publish.js";
import { repairCommand } from "./repair.js";
import { reportCommand } from "./report.js";
import { resignCommand } from "./resign.js";
import { resolveCommand } from "./resolve.js";
import { rollbackCommand } from "./rollback.js";
import { rolloutCommand } from "./rollout.js";
import { rootCommand } from "./root.js";
import { serveCommand } from "./serve.js";
import { statusCommand } from "./status.js";
import { uiCommand } from "./ui.js";
import { updateCommand } from "./update.js";
import { verifyCommand } from "./verify.js";
import { unblockCommand } from "./unblock.js";
import { webDemoCommand } from "./web-demo.js";
import { AGENT_HELP, runAgentCommand } from "../agent-command.js";
import { LAUNCH_HELP, runLaunchCommand } from "../launch-command.js";

export const COMMANDS: readonly AnyCommand[] = [
  keygenCommand,
  publishCommand,
  pruneCommand,
  reportCommand,
  resignCommand,
  rootCommand,
  rolloutCommand,
  serveCommand,
  updateCommand,
  checkCommand,
  canUpdateCommand,
  uiCommand,
  webDemoCommand,
  repairCommand,
  packagesCommand,
  statusCommand,
  verifyCommand,
  rollbackCommand,
  openCommand,
  markHealthyCommand,
  unblockCommand,
  logCommand,
  {
    name: "launch",
    summary: "start the game through Ferry: staged updates applied before it starts, never under it",
    usage: [
      "<install-dir> [--healthy-after <s>] [--max-unhealthy-launches 2] [--repo <url> --trust <key>] -- <game> [args...]",
    ],
    help: LAUNCH_HELP,
    raw: (argv) => runLaunchCommand([...argv]),
  },
  {
    name: "agent",
    summary:
      "one install's updater for an engine that is not Node: JSON lines or loopback HTTP (docs/AGENT.md)",
    usage: ["<repo-url> <install-dir> --trust <root.pub|root.json>... [--listen 127.0.0.1:0]"],
    help: AGENT_HELP,
    raw: (argv) => runAgentCommand([...argv]),
  },
  cocosManifestCommand,
  mountCommand,
  resolveCommand,
];

export function findCommand(name: string): AnyCommand | undefined {
  return COMMANDS.find((c) => c.name === name);
}
