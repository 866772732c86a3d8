import { parseArgs } from "node:util";
import { cocosFromRepository } from "../cocos/from-repo.js";
import { writeCocosManifests } from "../cocos/generate.js";
import { FerryError } from "../core/errors.js";
import { Mounts, removePersistedMount } from "../mounts/mounts.js";
import { readMountsFile } from "../mounts/persist.js";
import { NodeFileSystem } from "../node/node-fs.js";
import { loadTrust } from "./key-files.js";
import { formatBytes } from "../core/format-bytes.js";

/**
 * `ferry cocos-manifest`, `ferry mount`, `ferry resolve`: each parses only its own flags (strict), so an
 * unknown or misplaced flag is a usage error rather than silently ignored.
 */
export const CONTENT_COMMANDS: ReadonlySet<string> = new Set(["cocos-manifest", "mount", "resolve"]);

export const CONTENT_HELP = `  ferry cocos-manifest --src <build-dir> --version <v> --url <url/> --dest <out-dir> [--only <dir,dir,...>] [--json]
  ferry cocos-manifest --from-repo <repo-dir|url> --trust <root.pub|root.json>... --url <url/> --dest <out-dir> [--version <v>] [--channel stable] [--only <dir,...>] [--packages a,b] [--install-dir <dir>] [--json]
  ferry mount add <install-dir> <name> <dir|archive.zip|ferry-install> --priority <n> --runtime <r> [--json]
  ferry mount remove <install-dir> <name> [--json]
  ferry mount list <install-dir> [--runtime <r>] [--json]
  ferry mount prune <install-dir> --runtime <r> [--json]
  ferry resolve <install-dir> <path> --runtime <r> [--json]
`;

function usage(message: string): FerryError {
  return new FerryError("E_USAGE", `${message}. Run 'ferry --help' for usage.`);
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw usage(`Missing ${what}`);
  return value;
}

/** Runs node:util parseArgs (strict), turning its errors into E_USAGE. */
function parse<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    throw usage((error as Error).message);
  }
}

const JSON_FLAG = { json: { type: "boolean" } } as const;

function positionals(actual: readonly string[], names: readonly string[]): string[] {
  if (actual.length > names.length) throw usage(`Unexpected argument '${actual[names.length]}'`);
  return names.map((name, i) => need(actual[i], name));
}

const out = (object: unknown) => process.stdout.write(`${JSON.stringify(object)}\n`);

function onlyList(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const dirs = value.split(",").filter((d) => d.length > 0);
  if (dirs.length === 0) throw usage("--only needs at least one folder name");
  return dirs;
}

/** `--packages a,b`: the release's packages to list for Cocos clients. */
function packageNames(value: string): string[] {
  const names = value
    .split(",")
    .map((n) => n.trim())
    .filter((n) => n.length > 0);
  if (names.length === 0) throw usage("--packages needs at least one package name");
  return names;
}

async function cocosManifest(args: string[]): Promise<number> {
  const { values, positionals: rest } = parse(() =>
    parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        ...JSON_FLAG,
        src: { type: "string" },
        "from-repo": { type: "string" },
        trust: { type: "string", multiple: true },
        "trust-threshold": { type: "string" },
        channel: { type: "string" },
        "install-dir": { type: "string" },
        version: { type: "string" },
        url: { type: "string" },
        dest: { type: "string" },
        only: { type: "string" },
        packages: { type: "string" },
      },
    }),
  );
  positionals(rest, []);
  const json = values.json === true;
  const url = need(values.url, "--url <url ending in />");
  const dest = need(values.dest, "--dest <out-dir>");
  const only = onlyList(values.only);
  if ((values.src === undefined) === (values["from-repo"] === undefined))
    throw usage("Give exactly one of --src <build-dir> and --from-repo <repository>");
  let summary: { assets: number; bytes: number; version: string };
  if (values.src !== undefined) {
    for (const flag of ["trust", "trust-threshold", "channel", "install-dir", "packages"] as const)
      if (values[flag] !== undefined) throw usage(`--${flag} is only for --from-repo`);
    const version = need(values.version, "--version <version>");
    const result = await writeCocosManifests({
      src: values.src,
      version,
      url,
      dest,
      ...(only ? { only } : {}),
    });
    summary = { ...result, version };
  } else {
    const threshold = Number(values["trust-threshold"] ?? "1");
    if (!Number.isInteger(threshold) || threshold < 1)
      throw usage("--trust-threshold must be a positive integer");
    summary = await cocosFromRepository({
      repo: values["from-repo"]!,
      trust: await loadTrust(values.trust, threshold),
      url,
      dest,
      ...(values.version === undefined ? {} : { version: values.version }),
      ...(values.channel === undefined ? {} : { channel: values.channel }),
      ...(values["install-dir"] === undefined ? {} : { installDir: values["install-dir"] }),
      ...(only ? { only } : {}),
      ...(values.packages === undefined ? {} : { packages: packageNames(values.packages) }),
      ...(json ? { onEvent: out } : {}),
    });
  }
  if (json) out({ type: "result", ...summary });
  else
    process.stdout.write(
      `Wrote ${dest}/project.manifest and version.manifest (version ${summary.version}): ${summary.assets} assets, ${formatBytes(summary.bytes)}.\n`,
    );
  return 0;
}

function priorityOf(value: string | undefined): number {
  const text = need(value, "--priority <integer>");
  const n = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(n)) throw usage("--priority must be an integer");
  return n;
}

/** Stale persisted mounts are reported, never removed, by reads ('mount prune' removes them). */
function reportStale(mounts: Mounts, json: boolean): void {
  for (const d of mounts.stale)
    if (json) out({ type: "stale", ...d });
    else process.stderr.write(`ferry: persisted mount ${d.name} not used: ${d.code}: ${d.message}\n`);
}

async function mount(args: string[]): Promise<number> {
  const { values, positionals: rest } = parse(() =>
    parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: { ...JSON_FLAG, priority: { type: "string" }, runtime: { type: "string" } },
    }),
  );
  const json = values.json === true;
  const fs = new NodeFileSystem();
  const [action, ...more] = rest;
  switch (action) {
    case "add": {
      const [installDir, name, uri] = positionals(more, ["<install-dir>", "<name>", "<uri>"]);
      const priority = priorityOf(values.priority);
      const mounts = await Mounts.open({
        installDir: installDir!,
        runtime: need(values.runtime, "--runtime <runtime>"),
        fs,
      });
      reportStale(mounts, json);
      const info = await mounts.addMount(name!, uri!, priority);
      if (json) out({ type: "result", ...info });
      else
        process.stdout.write(
          `Mounted ${info.name} (${info.kind} ${info.uri}) at priority ${info.priority}.\n`,
        );
      return 0;
    }
    case "remove": {
      if (values.priority !== undefined || values.runtime !== undefined)
        throw usage("'mount remove' takes no --priority or --runtime");
      const [installDir, name] = positionals(more, ["<install-dir>", "<name>"]);
      await removePersistedMount(fs, installDir!, name!);
      if (json) out({ type: "result", removed: name });
      else process.stdout.write(`Removed mount ${name}.\n`);
      return 0;
    }
    case "list": {
      if (values.priority !== undefined) throw usage("'mount list' takes no --priority");
      const [installDir] = positionals(more, ["<install-dir>"]);
      // Without --runtime the records are shown as stored; with it they are re-verified and stale ones
      // reported. Either way the file is only read.
      let listed: { name: string; priority: number; kind: string; uri: string; runtime?: string }[];
      let dropped;
      let stale: readonly { name: string; code: string; message: string }[] = [];
      if (values.runtime === undefined) {
        const file = await readMountsFile(fs, installDir!);
        listed = [...file.mounts].sort((a, b) => b.priority - a.priority);
        dropped = file.dropped;
      } else {
        const mounts = await Mounts.open({ installDir: installDir!, runtime: values.runtime, fs });
        listed = mounts.getMounts();
        dropped = mounts.droppedHistory;
        stale = mounts.stale;
      }
      if (json)
        out({ type: "result", verified: values.runtime !== undefined, mounts: listed, stale, dropped });
      else {
        for (const m of listed)
          process.stdout.write(
            `${String(m.priority).padStart(6)}  ${m.name}  ${m.kind}  ${m.uri}${m.runtime ? `  (runtime ${m.runtime})` : ""}\n`,
          );
        for (const d of stale) process.stdout.write(`stale  ${d.name}  ${d.code}: ${d.message}\n`);
        for (const d of dropped)
          process.stdout.write(`dropped ${d.time}  ${d.name}  ${d.code}: ${d.message}\n`);
        if (listed.length === 0) process.stdout.write("No mounts.\n");
      }
      return 0;
    }
    case "prune": {
      if (values.priority !== undefined) throw usage("'mount prune' takes no --priority");
      const [installDir] = positionals(more, ["<install-dir>"]);
      const mounts = await Mounts.open({
        installDir: installDir!,
        runtime: need(values.runtime, "--runtime <runtime>"),
        fs,
      });
      const pruned = await mounts.prune();
      if (json) out({ type: "result", pruned });
      else {
        for (const d of pruned)
          process.stdout.write(`Removed stale mount ${d.name}: ${d.code}: ${d.message}\n`);
        if (pruned.length === 0) process.stdout.write("No stale mounts.\n");
      }
      return 0;
    }
    default:
      throw usage("Use 'ferry mount add', 'ferry mount remove', 'ferry mount list' or 'ferry mount prune'");
  }
}

async function resolveCommand(args: string[]): Promise<number> {
  const { values, positionals: rest } = parse(() =>
    parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: { ...JSON_FLAG, runtime: { type: "string" } },
    }),
  );
  const json = values.json === true;
  const [installDir, path] = positionals(rest, ["<install-dir>", "<path>"]);
  const mounts = await Mounts.open({
    installDir: installDir!,
    runtime: need(values.runtime, "--runtime <runtime>"),
    fs: new NodeFileSystem(),
  });
  reportStale(mounts, json);
  const resolution = await mounts.resolve(path!);
  if (resolution === undefined)
    throw new FerryError(
      "E_NOT_FOUND",
      `No mount serves ${path}. 'ferry mount list ${installDir}' shows the mounts.`,
      { path: path! },
    );
  if (json) out({ type: "result", ...resolution });
  else
    process.stdout.write(
      `${resolution.path}: mount ${resolution.name} (${resolution.kind} ${resolution.uri}, priority ${resolution.priority}), ${resolution.size} bytes\n`,
    );
  return 0;
}

export function runContentCommand(command: string, args: string[]): Promise<number> {
  if (command === "cocos-manifest") return cocosManifest(args);
  if (command === "mount") return mount(args);
  return resolveCommand(args);
}
