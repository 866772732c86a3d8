import { changePackages, listPackages } from "../../client/ops/packages.js";
import { formatBytes } from "../../core/format-bytes.js";
import { type Command, need, out, str, usage } from "../command.js";
import { eventOutput, testHooks } from "../client-run.js";
import { JSON_OPTION, TRUST_OPTIONS, trustOf, WAIT_LOCK_OPTION } from "../option-groups.js";
import { lockWait } from "./update.js";

export const packagesCommand: Command = {
  name: "packages",
  summary: "list the packages of an install, or add and remove optional ones",
  usage: [
    "list <install-dir> [--json]",
    "add|remove <install-dir> <package>... --trust <root.pub|root.json>... [--repo <repo-url>] [--json]",
  ],
  arguments: [
    ["list|add|remove", "what to do"],
    ["<install-dir>", "the install"],
    ["<package>...", "package names (add, remove)"],
  ],
  options: {
    ...TRUST_OPTIONS,
    repo: {
      type: "string",
      value: "<repo-url>",
      description: "the repository's base URL (default: the one installed from)",
    },
    ...WAIT_LOCK_OPTION,
    ...JSON_OPTION,
  },
  examples: ["packages list game/", "packages add game/ hd-textures --trust keys/ferry.pub"],
  interrupt: "abort",
  interruptHint: "Run the same command again to finish the change.",
  async run({ values, positionals, json, signal }) {
    const command = "packages";
    const [action, dir, ...names] = positionals;
    if (action !== "list" && action !== "add" && action !== "remove")
      throw usage("Use 'ferry packages list|add|remove'", command);
    const installDir = need(dir, "<install-dir>", command);
    if (action === "list") {
      for (const f of ["trust", "trust-threshold", "repo", "wait-lock"])
        if (values[f] !== undefined) throw usage(`'ferry packages list' takes no --${f}`, command);
      if (names.length > 0)
        throw usage(`Unexpected argument ${JSON.stringify(names[0])} for 'ferry packages list'`, command);
      const packages = await listPackages({ installDir });
      if (json) out({ type: "result", packages });
      else
        for (const p of packages)
          process.stdout.write(
            `${p.installed ? "installed" : "available"}  ${p.name}${p.optional ? " (optional)" : ""}: ${p.files} files, ${formatBytes(p.bytes)}\n`,
          );
      return 0;
    }
    if (names.length === 0) throw usage(`Name the package(s) to ${action}`, command);
    const wait = lockWait(str(values, "wait-lock"), command);
    const trust = await trustOf(values, command);
    const { renderer, onEvent } = eventOutput(json);
    const result = await changePackages({
      installDir,
      trust,
      ...(str(values, "repo") === undefined ? {} : { repoUrl: str(values, "repo")! }),
      ...(action === "add" ? { add: names } : { remove: names }),
      ...wait,
      signal,
      ...(await testHooks(installDir, onEvent)),
    });
    renderer.finish();
    if (json) out({ type: "result", ...result });
    else
      process.stdout.write(
        `Packages of ${result.version}: ${result.after.packages.join(", ") || "(none)"}; ${result.filesWritten} files written, ${result.filesDeleted} deleted, ${formatBytes(result.bytesDownloaded)} downloaded.\n`,
      );
    return 0;
  },
};
