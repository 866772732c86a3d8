import { FerryError } from "../../core/errors.js";
import { Mounts } from "../../mounts/mounts.js";
import { NodeFileSystem } from "../../node/node-fs.js";
import { type Command, need, out, str } from "../command.js";
import { JSON_OPTION } from "../option-groups.js";
import { exactPositionals, reportStale } from "./mount.js";

export const resolveCommand: Command = {
  name: "resolve",
  summary: "say which mount serves a path (and its size)",
  usage: ["<install-dir> <path> --runtime <r> [--json]"],
  arguments: [
    ["<install-dir>", "the install"],
    ["<path>", "a release path, '/'-separated"],
  ],
  options: {
    runtime: { type: "string", value: "<r>", description: "this app's runtime (required)" },
    ...JSON_OPTION,
  },
  examples: ["resolve game/ textures/a.png --runtime 2.3.0"],
  async run({ values, positionals, json }) {
    const command = "resolve";
    const [installDir, path] = exactPositionals(positionals, ["<install-dir>", "<path>"], command);
    const mounts = await Mounts.open({
      installDir: installDir!,
      runtime: need(str(values, "runtime"), "--runtime <runtime>", command),
      fs: new NodeFileSystem(),
    });
    reportStale(mounts, json);
    const resolution = await mounts.resolve(path!);
    if (resolution === undefined)
      throw new FerryError(
        "E_NOT_FOUND",
        `No mount serves ${path}. 'ferry mount list ${installDir}' shows the mounts.`,
        {
          path: path!,
        },
      );
    if (json) out({ type: "result", ...resolution });
    else
      process.stdout.write(
        `${resolution.path}: mount ${resolution.name} (${resolution.kind} ${resolution.uri}, priority ${resolution.priority}), ${resolution.size} bytes\n`,
      );
    return 0;
  },
};
