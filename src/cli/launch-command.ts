/**
 * `ferry launch <install-dir> [options] -- <game command and args>` (docs/ENGINES.md): src/agent/launch.ts
 * does the work; this parses its own arguments (strict: an unknown option is a usage error, exit 2) and
 * reports on stderr, since the game inherits stdout. The exit code is the game's.
 */
import { parseArgs } from "node:util";
import { type LaunchAgentConfig, type LaunchEvent, launch } from "../agent/launch.js";
import { FerryError } from "../core/errors.js";
import { loadTrust } from "./key-files.js";
import { NETWORK_HELP, networkSettings } from "./network-flags.js";
import { SESSION_OPTIONS } from "./agent-command.js";
import { mirrorList } from "./store-flags.js";
import { ferryVersion } from "./version.js";

export const LAUNCH_HELP = `ferry launch — start a game through Ferry: staged updates are applied before it starts, never while it runs

Usage:
  ferry launch <install-dir> [--max-unhealthy-launches 2] [--healthy-after <s>] [--wait-lock 30] [--json]
               [--repo <repo-url> --trust <root.pub|root.json>... [--trust-threshold 1] [--channel stable]
                [--packages a,b] [--check-interval 0] [--runtime <r>] [--mirror <url>,...] ${NETWORK_HELP}]
               -- <game> [game args...]

Before the game starts, a staged update (ferry update --next-start) is committed and the launch is counted;
a release launched --max-unhealthy-launches times without being marked healthy is rolled back to the
previous release and blocked (docs/ROLLBACK.md). The game gets FERRY_INSTALL_DIR in its environment.
The release is marked healthy when the game calls 'ferry mark-healthy' or, with --healthy-after S, once
it has run S seconds (or exits 0 before); a game that exits non-zero or is killed before that leaves the
launch counted. SIGINT and SIGTERM are forwarded to the game. Ferry's messages go to stderr (--json: one
JSON event per line); the game keeps stdin, stdout and stderr.

With --repo (and --trust), an agent (docs/AGENT.md, HTTP on 127.0.0.1) runs while the game runs, its
address and token in FERRY_AGENT_URL and FERRY_AGENT_TOKEN: the game checks, updates and marks the release
healthy through it. Updates it makes are staged, never applied under the running game: the next launch
applies them before the game starts. repair, rollback and packages.remove wait for the game to exit (E_BUSY).

Exit codes: the game's (128 + n when signal n ended it); 2 usage error; 1 when the game could not be
started (its command not found, the install dir not a Ferry install).
`;

const OPTIONS = {
  "max-unhealthy-launches": { type: "string" },
  "healthy-after": { type: "string" },
  "wait-lock": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  repo: { type: "string" },
  ...SESSION_OPTIONS,
} as const;

function usage(message: string): FerryError {
  return new FerryError("E_USAGE", `${message}. Run 'ferry launch --help' for usage.`);
}

function seconds(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0)
    throw usage(`${flag} must be a number of seconds >= 0`);
  return n;
}

function describe(event: LaunchEvent): string | undefined {
  switch (event.type) {
    case "opened": {
      const o = event.open;
      const parts: string[] = [];
      if (o.staged.applied)
        parts.push(
          `applied the staged update ${o.staged.fromVersion ?? "(fresh install)"} -> ${o.staged.version}`,
        );
      else if (o.staged.reason !== null) parts.push(`discarded a staged update: ${o.staged.reason}`);
      if (o.rolledBack)
        parts.push(
          `rolled back ${o.rolledBack.fromVersion} -> ${o.rolledBack.version}: ${o.rolledBack.message}`,
        );
      parts.push(
        o.healthy
          ? `starting ${o.version}`
          : `starting ${o.version} (launch ${o.launches} not yet marked healthy)`,
      );
      return parts.join("; ");
    }
    case "open-failed":
      return `could not prepare the install (${event.error.code}: ${event.error.message}); starting the game with the files it has`;
    case "warning":
      return `warning: ${event.error.code}: ${event.error.message}`;
    case "agent":
      return `agent at ${event.url}`;
    case "healthy":
      return `release marked healthy (${event.reason})`;
    case "exited":
      return event.signal === null ? `game exited with code ${event.code}` : `game ended by ${event.signal}`;
    default:
      return undefined;
  }
}

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; strict: true }>>["values"];

/** The in-process agent's settings from --repo, --trust, ...; undefined without --repo. */
async function agentConfig(values: Values): Promise<LaunchAgentConfig | undefined> {
  const agentOnly = [
    "trust",
    "trust-threshold",
    "channel",
    "packages",
    "check-interval",
    "runtime",
    "mirror",
  ] as const;
  if (values.repo === undefined) {
    const given = agentOnly.find((name) => values[name] !== undefined);
    if (given !== undefined) throw usage(`--${given} is an option of the agent: give --repo <repo-url> too`);
    return undefined;
  }
  if (values.trust === undefined) throw usage("--repo needs --trust <root.pub|root.json>");
  const threshold = values["trust-threshold"] === undefined ? 1 : Number(values["trust-threshold"]);
  if (!Number.isInteger(threshold) || threshold < 1)
    throw usage("--trust-threshold must be a positive integer");
  const interval = seconds(values["check-interval"], "--check-interval") ?? 0;
  const packages = values.packages?.split(",").map((p) => p.trim());
  if (packages?.some((p) => p === "")) throw usage("--packages has an empty name; separate names by commas");
  return {
    repoUrl: values.repo,
    mirrors: mirrorList(values.mirror),
    trust: await loadTrust(values.trust, threshold),
    checkIntervalSeconds: interval,
    ferryVersion: await ferryVersion(),
    ...(values.channel === undefined ? {} : { channel: values.channel }),
    ...(packages === undefined ? {} : { packages }),
    ...(values.runtime === undefined ? {} : { runtime: values.runtime }),
    ...networkSettings(values),
  };
}

export async function runLaunchCommand(argv: readonly string[]): Promise<number> {
  const split = argv.indexOf("--");
  const own = split < 0 ? [...argv] : argv.slice(0, split);
  const game = split < 0 ? [] : argv.slice(split + 1);
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: own, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw usage((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(LAUNCH_HELP);
    return 0;
  }
  const [installDir, ...extra] = positionals;
  if (installDir === undefined) throw usage("Missing <install-dir>");
  if (extra.length > 0)
    throw usage(`Unexpected argument ${JSON.stringify(extra[0])}: the game's command goes after '--'`);
  const [command, ...args] = game;
  if (command === undefined) throw usage("Missing the game's command after '--'");
  const max = values["max-unhealthy-launches"];
  let maxUnhealthyLaunches: number | undefined;
  if (max !== undefined) {
    maxUnhealthyLaunches = Number(max);
    if (!Number.isInteger(maxUnhealthyLaunches) || maxUnhealthyLaunches < 1)
      throw usage("--max-unhealthy-launches must be a positive integer");
  }
  const healthyAfter = seconds(values["healthy-after"], "--healthy-after");
  const lockWait = seconds(values["wait-lock"], "--wait-lock");
  const json = values.json === true;
  const agent = await agentConfig(values);

  const result = await launch({
    installDir,
    command,
    args,
    ...(maxUnhealthyLaunches === undefined ? {} : { maxUnhealthyLaunches }),
    ...(healthyAfter === undefined ? {} : { healthyAfterMs: Math.round(healthyAfter * 1000) }),
    ...(lockWait === undefined ? {} : { lockWaitMs: Math.round(lockWait * 1000) }),
    ...(agent === undefined ? {} : { agent }),
    onEvent: (event) => {
      if (json) {
        const body =
          event.type === "open-failed" || event.type === "warning"
            ? { type: event.type, error: { code: event.error.code, message: event.error.message } }
            : event;
        process.stderr.write(`${JSON.stringify(body)}\n`);
        return;
      }
      const line = describe(event);
      if (line !== undefined) process.stderr.write(`ferry launch: ${line}\n`);
    },
  });
  return result.exitCode;
}
