/**
 * `ferry agent`: its own option table (strict: an unknown option is a usage error, exit 2) and help;
 * starts the session and serves it over stdio or, with --listen, over HTTP on loopback (docs/AGENT.md).
 */
import { stat } from "node:fs/promises";
import { parseArgs } from "node:util";
import { serveHttp } from "../agent/http-transport.js";
import { type AgentConfig, AgentSession } from "../agent/session.js";
import { serveStdio } from "../agent/stdio-transport.js";
import { FerryError } from "../core/errors.js";
import { loadTrust } from "./key-files.js";
import { NETWORK_HELP, NETWORK_OPTIONS, networkSettings } from "./network-flags.js";
import { mirrorList } from "./store-flags.js";
import { ferryVersion } from "./version.js";

export const AGENT_HELP = `ferry agent — one install's updater for a game that is not a Node program (docs/AGENT.md)

Usage:
  ferry agent <repo-url> <install-dir> --trust <root.pub|root.json>... [--trust-threshold 1] [--channel stable]
              [--packages a,b] [--check-interval 0] [--runtime <r>] [--mirror <url>,...] [--listen 127.0.0.1:0]
              ${NETWORK_HELP}

Without --listen the agent speaks JSON lines over stdin/stdout; with --listen 127.0.0.1:<port> (0: any
free port) it serves HTTP on loopback and prints {"url","token"} as its one line on stdout.
It ends when stdin closes (stdio), on 'shutdown', or on SIGTERM/SIGINT, after cancelling what runs.
Exit codes: 0 clean end, 1 could not start, 2 usage error.
`;

/** What an agent session needs besides the repository and install (shared with `ferry launch`). */
export const SESSION_OPTIONS = {
  trust: { type: "string", multiple: true },
  "trust-threshold": { type: "string" },
  channel: { type: "string" },
  packages: { type: "string" },
  "check-interval": { type: "string" },
  runtime: { type: "string" },
  mirror: { type: "string", multiple: true },
  ...NETWORK_OPTIONS,
} as const;

const OPTIONS = {
  ...SESSION_OPTIONS,
  listen: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

function usage(message: string): FerryError {
  return new FerryError("E_USAGE", `${message}. Run 'ferry agent --help' for usage.`);
}

/** `--listen 127.0.0.1:<port>` (or localhost:<port>): the port; any other host is refused. */
export function listenPort(value: string): number {
  const match = /^(127\.0\.0\.1|localhost):(\d{1,5})$/.exec(value);
  const port = match ? Number(match[2]) : Number.NaN;
  if (!match || port > 65535)
    throw usage(
      `--listen ${JSON.stringify(value)}: the agent listens on loopback only; use 127.0.0.1:<port> (0: any free port)`,
    );
  return port;
}

/** Runs `ferry agent <argv>`; resolves with the exit code. Start failures reject (main prints them). */
export async function runAgentCommand(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw usage((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(AGENT_HELP);
    return 0;
  }
  const [repoUrl, installDir, ...extra] = positionals;
  if (repoUrl === undefined || installDir === undefined) throw usage("Missing <repo-url> <install-dir>");
  if (extra.length > 0) throw usage(`Unexpected argument ${JSON.stringify(extra[0])}`);
  const threshold = values["trust-threshold"] === undefined ? 1 : Number(values["trust-threshold"]);
  if (!Number.isInteger(threshold) || threshold < 1)
    throw usage("--trust-threshold must be a positive integer");
  const interval = values["check-interval"] === undefined ? 0 : Number(values["check-interval"]);
  if (!(interval >= 0) || !Number.isFinite(interval))
    throw usage("--check-interval must be a number of seconds");
  const packages = values.packages?.split(",").map((p) => p.trim());
  if (packages?.some((p) => p === "")) throw usage("--packages has an empty name; separate names by commas");
  const port = values.listen === undefined ? undefined : listenPort(values.listen);
  const mirrors = mirrorList(values.mirror);
  const network = networkSettings(values);

  // Start failures (exit 1): the install directory is something else, the trust file is unreadable.
  const dir = await stat(installDir).catch(() => undefined);
  if (dir !== undefined && !dir.isDirectory())
    throw new FerryError("E_IO", `${installDir} is not a directory: give the game's install directory.`, {
      path: installDir,
    });
  const trust = await loadTrust(values.trust, threshold);
  const config: AgentConfig = {
    repoUrl,
    mirrors,
    installDir,
    trust,
    checkIntervalSeconds: interval,
    ferryVersion: await ferryVersion(),
    ...(values.channel === undefined ? {} : { channel: values.channel }),
    ...(packages === undefined ? {} : { packages }),
    ...(values.runtime === undefined ? {} : { runtime: values.runtime }),
    ...network,
  };
  const session = new AgentSession(config);
  const stop = new Promise<void>((resolve) => {
    process.once("SIGTERM", () => resolve());
    process.once("SIGINT", () => resolve());
  });
  if (port === undefined) {
    await serveStdio(session, { input: process.stdin, output: process.stdout, stop });
    process.stdin.destroy();
    return 0;
  }
  const server = await serveHttp(session, { port });
  process.stdout.write(`${JSON.stringify({ url: server.url, token: server.token })}\n`);
  await Promise.race([stop, server.shutdownRequested]);
  await server.close();
  return 0;
}
