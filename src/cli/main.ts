#!/usr/bin/env node
import { ferryVersion } from "./version.js";
import "../register-node.js"; // client operations called without deps use the Node adapters
import { FerryError } from "../core/errors.js";
import { type AnyCommand, formatHelp, isRaw, nearest, parseCommand, q, usage, wantsHelp } from "./command.js";
import { COMMANDS, findCommand } from "./commands/index.js";
import { clearProgress } from "./render.js";

/** `ferry --help`: every command with one line; `ferry <command> --help` has the rest. */
function globalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return `ferry — signed, content-addressed live updates for games and apps

Usage:
${COMMANDS.map((c) => `  ferry ${c.name.padEnd(width)}${c.summary}`).join("\n")}

  ferry help <command>    that command's arguments, options and an example (also: ferry <command> --help)
  ferry --version         the version of ferry

--trust takes a root public key (file or the text ferry-ed25519:...; repeat for several, with --trust-threshold)
or a root metadata file (root/<n>.json) shipped with the game; see docs/SECURITY.md. --repo of the publishing
commands also takes s3://bucket/prefix (docs/HOSTING.md). Network limits: docs/RELIABILITY.md.
Exit codes: 0 success (also "already up to date"), 1 failure, 2 usage error, 130 interrupted (Ctrl-C).
`;
}

function unknownCommand(name: string): FerryError {
  const near = nearest(
    name,
    COMMANDS.map((c) => c.name),
  );
  return usage(`Unknown command ${q(name)}.${near === undefined ? "" : ` Did you mean ${q(near)}?`}`);
}

const SIGNAL_EXIT: Readonly<Record<string, number>> = { SIGINT: 130, SIGTERM: 143 };

/** How the run ended when a signal stopped it: the E_ABORTED error and the exit code. */
interface Interrupt {
  readonly error: FerryError;
  readonly exit: number;
}

let interrupted: Interrupt | undefined;

function interruption(command: AnyCommand, signal: NodeJS.Signals): Interrupt {
  const how = signal === "SIGINT" ? "Ctrl-C" : signal;
  const hint = isRaw(command) ? undefined : command.interruptHint;
  return {
    error: new FerryError(
      "E_ABORTED",
      `Interrupted (${how}): 'ferry ${command.name}' stopped before it finished.${hint ? ` ${hint}` : ""}`,
      { signal, command: command.name },
    ),
    exit: SIGNAL_EXIT[signal] ?? 1,
  };
}

/**
 * SIGINT/SIGTERM while a command runs: "exit" commands report E_ABORTED and exit at once; "abort"
 * commands get their signal aborted and end by themselves (the error is then reported as E_ABORTED);
 * "stop" commands (servers) end normally. A second signal exits at once, or after 10 s at the latest.
 */
function handleSignals(command: AnyCommand, controller: AbortController): () => void {
  const mode = isRaw(command) ? "exit" : (command.interrupt ?? "exit");
  const onSignal = (signal: NodeJS.Signals) => {
    if (mode === "stop" && !controller.signal.aborted) {
      controller.abort();
      return;
    }
    const first = interrupted === undefined;
    interrupted ??= interruption(command, signal);
    if (mode === "abort" && first) {
      controller.abort(interrupted.error);
      setTimeout(() => exitNow(interrupted!), 10_000).unref();
      return;
    }
    exitNow(interrupted);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
}

function exitNow(stop: Interrupt): never {
  report(stop.error);
  process.exit(stop.exit);
}

async function main(argv: readonly string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === "--help" || first === "-h") {
    process.stdout.write(globalHelp());
    return 0;
  }
  if (first === "--version" || first === "-V") {
    process.stdout.write(`${await ferryVersion()}\n`);
    return 0;
  }
  if (first === "help") {
    if (rest[0] === undefined) {
      process.stdout.write(globalHelp());
      return 0;
    }
    const command = findCommand(rest[0]);
    if (!command) throw unknownCommand(rest[0]);
    process.stdout.write(formatHelp(command));
    return 0;
  }
  if (first.startsWith("-"))
    throw usage(`${q(first)} before the command: write 'ferry <command> [arguments] [options]'`);
  const command = findCommand(first);
  if (!command) throw unknownCommand(first);
  if (isRaw(command)) {
    if (rest[0] === "--help" || rest[0] === "-h") {
      process.stdout.write(formatHelp(command));
      return 0;
    }
    // Raw commands (agent, launch) own their signals: the agent cancels its operation and exits 0,
    // launch forwards them to the game and exits with its code.
    return command.raw(rest);
  }
  if (wantsHelp(rest)) {
    process.stdout.write(formatHelp(command));
    return 0;
  }
  const { values, positionals } = parseCommand(command, rest);
  const controller = new AbortController();
  const release = handleSignals(command, controller);
  try {
    return await command.run({
      command: command.name,
      values,
      positionals,
      json: values.json === true,
      signal: controller.signal,
    });
  } catch (error) {
    if (interrupted) throw interrupted.error;
    throw error;
  } finally {
    release();
  }
}

/** --json given to the command (before any "--"): errors are JSON lines too. */
function jsonRequested(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).includes("--json");
}

/**
 * One line per error on stderr (and a JSON line on stdout with --json). A FerryError shows its code and
 * message; anything else is a bug: one line and "internal error" advice, the stack only with FERRY_DEBUG.
 */
function report(error: unknown): void {
  clearProgress();
  const json = jsonRequested(process.argv.slice(2));
  if (error instanceof FerryError) {
    if (json)
      process.stdout.write(
        `${JSON.stringify({ type: "error", code: error.code, message: error.message, data: error.data })}\n`,
      );
    process.stderr.write(`ferry: ${error.code}: ${error.message}\n`);
    return;
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const debug = process.env.FERRY_DEBUG !== undefined && process.env.FERRY_DEBUG !== "";
  if (json) process.stdout.write(`${JSON.stringify({ type: "error", code: "E_INTERNAL", message })}\n`);
  process.stderr.write(
    `ferry: internal error: ${message.replaceAll("\n", " ")}. This is a bug in ferry: please report it with the command that caused it` +
      `${debug ? "" : " (set FERRY_DEBUG=1 to print the stack trace)"}.\n`,
  );
  if (debug && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
}

// An error outside the command's promise (an event handler, a stream) is reported the same way.
for (const event of ["uncaughtException", "unhandledRejection"] as const)
  process.on(event, (error: unknown) => {
    report(error);
    process.exit(interrupted?.exit ?? 1);
  });

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    report(error);
    process.exitCode =
      interrupted !== undefined
        ? interrupted.exit
        : error instanceof FerryError && error.code === "E_USAGE"
          ? 2
          : 1;
  },
);
