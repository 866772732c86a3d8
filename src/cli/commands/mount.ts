import { Mounts, removePersistedMount } from "../../mounts/mounts.js";
import { readMountsFile } from "../../mounts/persist.js";
import { NodeFileSystem } from "../../node/node-fs.js";
import { type Command, need, out, q, str, usage } from "../command.js";
import { JSON_OPTION } from "../option-groups.js";

const command = "mount";

export function exactPositionals(
  actual: readonly string[],
  names: readonly string[],
  name: string,
): string[] {
  if (actual.length > names.length)
    throw usage(`Unexpected argument ${q(actual[names.length]!)} for 'ferry ${name}'`, name);
  return names.map((n, i) => need(actual[i], n, name));
}

function priorityOf(value: string | undefined): number {
  const text = need(value, "--priority <integer>", command);
  const n = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(n))
    throw usage(`--priority must be an integer (got ${q(text)})`, command);
  return n;
}

/** Stale persisted mounts are reported, never removed, by reads ('mount prune' removes them). */
export function reportStale(mounts: Mounts, json: boolean): void {
  for (const d of mounts.stale)
    if (json) out({ type: "stale", ...d });
    else process.stderr.write(`ferry: persisted mount ${d.name} not used: ${d.code}: ${d.message}\n`);
}

export const mountCommand: Command = {
  name: "mount",
  summary: "add, remove, list or prune prioritized content layers (folders, zips, Ferry installs)",
  usage: [
    "add <install-dir> <name> <dir|archive.zip|ferry-install> --priority <n> --runtime <r> [--json]",
    "remove <install-dir> <name> [--json]",
    "list <install-dir> [--runtime <r>] [--json]",
    "prune <install-dir> --runtime <r> [--json]",
  ],
  arguments: [
    ["add|remove|list|prune", "what to do"],
    ["<install-dir>", "the install whose mounts these are"],
  ],
  options: {
    priority: { type: "string", value: "<n>", description: "higher wins when two mounts hold a path (add)" },
    runtime: {
      type: "string",
      value: "<r>",
      description: "this app's runtime: mounts made for another are stale",
    },
    ...JSON_OPTION,
  },
  examples: [
    "mount add game/ dlc dlc/hd.zip --priority 10 --runtime 2.3.0",
    "mount prune game/ --runtime 2.3.0",
  ],
  async run({ values, positionals, json }) {
    const fs = new NodeFileSystem();
    const [action, ...more] = positionals;
    const priority = str(values, "priority");
    const runtime = str(values, "runtime");
    switch (action) {
      case "add": {
        const [installDir, name, uri] = exactPositionals(more, ["<install-dir>", "<name>", "<uri>"], command);
        const p = priorityOf(priority);
        const mounts = await Mounts.open({
          installDir: installDir!,
          runtime: need(runtime, "--runtime <runtime>", command),
          fs,
        });
        reportStale(mounts, json);
        const info = await mounts.addMount(name!, uri!, p);
        if (json) out({ type: "result", ...info });
        else
          process.stdout.write(
            `Mounted ${info.name} (${info.kind} ${info.uri}) at priority ${info.priority}.\n`,
          );
        return 0;
      }
      case "remove": {
        if (priority !== undefined || runtime !== undefined)
          throw usage("'ferry mount remove' takes no --priority or --runtime", command);
        const [installDir, name] = exactPositionals(more, ["<install-dir>", "<name>"], command);
        await removePersistedMount(fs, installDir!, name!);
        if (json) out({ type: "result", removed: name });
        else process.stdout.write(`Removed mount ${name}.\n`);
        return 0;
      }
      case "list": {
        if (priority !== undefined) throw usage("'ferry mount list' takes no --priority", command);
        const [installDir] = exactPositionals(more, ["<install-dir>"], command);
        // Without --runtime the records are shown as stored; with it they are re-verified and stale ones
        // reported. Either way the file is only read.
        let listed: { name: string; priority: number; kind: string; uri: string; runtime?: string }[];
        let dropped;
        let stale: readonly { name: string; code: string; message: string }[] = [];
        if (runtime === undefined) {
          const file = await readMountsFile(fs, installDir!);
          listed = [...file.mounts].sort((a, b) => b.priority - a.priority);
          dropped = file.dropped;
        } else {
          const mounts = await Mounts.open({ installDir: installDir!, runtime, fs });
          listed = mounts.getMounts();
          dropped = mounts.droppedHistory;
          stale = mounts.stale;
        }
        if (json) out({ type: "result", verified: runtime !== undefined, mounts: listed, stale, dropped });
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
        if (priority !== undefined) throw usage("'ferry mount prune' takes no --priority", command);
        const [installDir] = exactPositionals(more, ["<install-dir>"], command);
        const mounts = await Mounts.open({
          installDir: installDir!,
          runtime: need(runtime, "--runtime <runtime>", command),
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
        throw usage(
          "Use 'ferry mount add', 'ferry mount remove', 'ferry mount list' or 'ferry mount prune'",
          command,
        );
    }
  },
};
