/**
 * The CLI's command model: each command (src/cli/commands/<name>.ts) declares its own option table,
 * arguments, help text and run function. `parseCommand` accepts only the options the command declares:
 * anything else is a usage error naming the flag and the command, with the nearest known flag suggested.
 */
import { parseArgs } from "node:util";
import { FerryError } from "../core/errors.js";

export interface OptionSpec {
  readonly type: "string" | "boolean";
  readonly multiple?: boolean;
  readonly short?: string;
  /** The value's placeholder in help, e.g. "<dir>" (string options). */
  readonly value?: string;
  /** One line for the command's help. */
  readonly description: string;
}

export type OptionTable = Readonly<Record<string, OptionSpec>>;

/** Parsed option values: strings (or string lists for `multiple`), booleans; unset options are absent. */
export type Values = Readonly<Record<string, string | boolean | readonly string[] | undefined>>;

export interface Parsed {
  readonly values: Values;
  readonly positionals: readonly string[];
}

/** What a command's run function gets: its parsed arguments and whether --json was given. */
export interface CommandContext {
  readonly command: string;
  readonly values: Values;
  readonly positionals: readonly string[];
  readonly json: boolean;
  /** Aborted on the first Ctrl-C (SIGINT) or SIGTERM while the command runs. */
  readonly signal: AbortSignal;
}

export interface Command {
  readonly name: string;
  /** One line for `ferry --help`. */
  readonly summary: string;
  /** Usage lines after "ferry <name> " (e.g. "<dir> [--name ferry]"). */
  readonly usage: readonly string[];
  /** Positional arguments and their one-line descriptions, for help. */
  readonly arguments?: readonly (readonly [string, string])[];
  readonly options: OptionTable;
  /** Paragraphs after the options in help. */
  readonly notes?: string;
  /** One or more example command lines (without the leading "ferry "). */
  readonly examples: readonly string[];
  /** Most positional arguments accepted (default: no limit checked here). */
  readonly maxPositionals?: number;
  /**
   * What Ctrl-C (SIGINT) or SIGTERM does: "abort" aborts `signal` and waits for the command to end (it
   * then fails with E_ABORTED, exit 130); "stop" aborts `signal` as the normal way to end (a server);
   * "exit" (default) reports E_ABORTED and exits 130 at once. A second Ctrl-C always exits at once.
   */
  readonly interrupt?: "abort" | "stop" | "exit";
  /** After "interrupted": what state things are in and what to do (e.g. run it again to resume). */
  readonly interruptHint?: string;
  readonly run: (context: CommandContext) => Promise<number>;
}

/**
 * A command that parses its own arguments (an `agent` or `launch` protocol front end). It still has a
 * summary and a help text: `ferry <name> --help` and `ferry help <name>` print `help`.
 */
export interface RawCommand {
  readonly name: string;
  readonly summary: string;
  readonly usage: readonly string[];
  readonly help: string;
  readonly raw: (argv: readonly string[]) => Promise<number>;
}

export type AnyCommand = Command | RawCommand;

export function isRaw(command: AnyCommand): command is RawCommand {
  return "raw" in command;
}

export const HELP_OPTION: OptionTable = {
  help: { type: "boolean", short: "h", description: "show this help" },
};

export function usage(message: string, command?: string): FerryError {
  const where = command === undefined ? "'ferry --help'" : `'ferry ${command} --help'`;
  const end = /[.?!]$/.test(message) ? "" : ".";
  return new FerryError("E_USAGE", `${message}${end} Run ${where} for usage.`, command ? { command } : {});
}

/** A value quoted for a message: JSON string syntax, so quotes or newlines in it cannot break the text. */
export const q = (value: string): string => JSON.stringify(value);

/** Levenshtein distance (insert, delete, substitute, and swap of two neighbours). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++)
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(
        d[(i - 1) * cols + j]! + 1,
        d[i * cols + j - 1]! + 1,
        d[(i - 1) * cols + j - 1]! + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[(i - 2) * cols + j - 2]! + 1);
      d[i * cols + j] = best;
    }
  return d[rows * cols - 1]!;
}

/** The candidate nearest to `word` when it is plausibly a typo of it (distance at most a third of it, >= 1). */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const distance = editDistance(word, c);
    if (distance < bestDistance) {
      best = c;
      bestDistance = distance;
    }
  }
  const limit = Math.max(1, Math.floor(Math.max(word.length, 3) / 3));
  if (best !== undefined && bestDistance <= limit) return best;
  // A prefix ("--chan" for "--channel") is a fair suggestion too.
  return candidates.find((c) => word.length >= 3 && c.startsWith(word));
}

const suggestion = (found: string | undefined): string =>
  found === undefined ? "" : ` Did you mean ${found}?`;

/** The options a command accepts, with --help added. */
export function optionsOf(command: Command): OptionTable {
  return { ...command.options, ...HELP_OPTION };
}

/** True when argv asks for help (-h / --help before any "--"). */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const arg of argv) {
    if (arg === "--") return false;
    if (arg === "--help" || arg === "-h") return true;
  }
  return false;
}

/** Parses argv against the command's own option table; every problem is an E_USAGE naming the command. */
export function parseCommand(command: Command, argv: readonly string[]): Parsed {
  const table = optionsOf(command);
  const name = command.name;
  let tokens;
  try {
    tokens = parseArgs({
      args: [...argv],
      options: Object.fromEntries(
        Object.entries(table).map(([flag, o]) => [
          flag,
          { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) },
        ]),
      ),
      allowPositionals: true,
      strict: false,
      tokens: true,
    }).tokens;
  } catch (error) {
    throw usage(`${(error as Error).message} (ferry ${name})`, name);
  }
  const values: Record<string, string | boolean | string[]> = {};
  const positionals: string[] = [];
  const flags = Object.keys(table).map((f) => `--${f}`);
  for (const token of tokens) {
    if (token.kind === "positional") {
      positionals.push(token.value);
      continue;
    }
    if (token.kind !== "option") continue;
    const spec = table[token.name];
    const shown = token.rawName;
    if (
      spec === undefined ||
      (token.rawName.startsWith("-") && !token.rawName.startsWith("--") && spec.short === undefined)
    ) {
      throw usage(
        `Unknown option ${q(shown)} for 'ferry ${name}'.${suggestion(nearest(`--${token.name}`, flags))}`,
        name,
      );
    }
    if (spec.type === "boolean") {
      if (token.inlineValue === true || token.value !== undefined)
        throw usage(`${shown} takes no value (ferry ${name})`, name);
      values[token.name] = true;
      continue;
    }
    const value = token.value;
    if (value === undefined)
      throw usage(`${shown} needs a value ${spec.value ?? "<value>"} (ferry ${name})`, name);
    if (!token.inlineValue && value.startsWith("-") && value !== "-" && !/^-\d/.test(value))
      throw usage(
        `${shown} needs a value, not the option-like ${q(value)}; for a value starting with '-' write ${shown}=${value} (ferry ${name})`,
        name,
      );
    if (spec.multiple) {
      const list = (values[token.name] as string[] | undefined) ?? [];
      list.push(value);
      values[token.name] = list;
    } else {
      if (values[token.name] !== undefined) throw usage(`${shown} is given twice (ferry ${name})`, name);
      values[token.name] = value;
    }
  }
  if (command.maxPositionals !== undefined && positionals.length > command.maxPositionals)
    throw usage(`Unexpected argument ${q(positionals[command.maxPositionals]!)} for 'ferry ${name}'`, name);
  return { values, positionals };
}

function optionLine(flag: string, o: OptionSpec): [string, string] {
  const short = o.short ? `-${o.short}, ` : "";
  const value = o.type === "string" ? ` ${o.value ?? "<value>"}` : "";
  return [`${short}--${flag}${value}${o.multiple ? "..." : ""}`, o.description];
}

function table(rows: readonly (readonly [string, string])[]): string {
  const width = Math.min(34, Math.max(...rows.map(([left]) => left.length)) + 2);
  return rows
    .map(([left, right]) =>
      left.length + 2 > width
        ? `  ${left}\n  ${" ".repeat(width)}${right}`
        : `  ${left.padEnd(width)}${right}`,
    )
    .join("\n");
}

/** A command's help: summary, usage, arguments, options with one line each, notes, example. */
export function formatHelp(command: AnyCommand): string {
  if (isRaw(command)) return command.help.endsWith("\n") ? command.help : `${command.help}\n`;
  const parts = [
    `ferry ${command.name} — ${command.summary}`,
    `Usage:\n${command.usage.map((u) => `  ferry ${command.name}${u === "" ? "" : ` ${u}`}`).join("\n")}`,
  ];
  if (command.arguments && command.arguments.length > 0)
    parts.push(`Arguments:\n${table(command.arguments)}`);
  const options = Object.entries(optionsOf(command)).map(([flag, o]) => optionLine(flag, o));
  parts.push(`Options:\n${table(options)}`);
  if (command.notes) parts.push(command.notes.trimEnd());
  parts.push(
    `${command.examples.length > 1 ? "Examples" : "Example"}:\n${command.examples.map((e) => `  ferry ${e}`).join("\n")}`,
  );
  return `${parts.join("\n\n")}\n`;
}

/* Typed readers of parsed values (the table guarantees the type; these keep call sites short). */

export function str(values: Values, flag: string): string | undefined {
  const v = values[flag];
  return typeof v === "string" ? v : undefined;
}

export function list(values: Values, flag: string): string[] | undefined {
  const v = values[flag];
  return Array.isArray(v) ? [...(v as readonly string[])] : undefined;
}

export function flag(values: Values, name: string): boolean {
  return values[name] === true;
}

export function need<T>(value: T | undefined, what: string, command: string): T {
  if (value === undefined) throw usage(`Missing ${what} for 'ferry ${command}'`, command);
  return value;
}

export function positiveInteger(
  value: string | undefined,
  flagName: string,
  command: string,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isInteger(n) || n < 1)
    throw usage(`${flagName} must be a positive integer (got ${q(value)})`, command);
  return n;
}

export function portNumber(value: string | undefined, fallback: number, command: string): number {
  const port = value === undefined ? fallback : Number(value);
  if (value?.trim() === "" || !Number.isInteger(port) || port < 0 || port > 65535)
    throw usage(`--port must be 0..65535 (got ${q(String(value))})`, command);
  return port;
}

export function expiryDays(value: string | undefined, command: string): number | undefined {
  if (value === undefined) return undefined;
  const days = Number(value);
  if (!(days > 0) || !Number.isFinite(days))
    throw usage(`--expires-days must be a positive number (got ${q(value)})`, command);
  return days;
}

/** Writes one JSON line to stdout. */
export const out = (object: unknown): void => {
  process.stdout.write(`${JSON.stringify(object)}\n`);
};
