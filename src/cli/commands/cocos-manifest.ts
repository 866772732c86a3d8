import { cocosFromRepository } from "../../cocos/from-repo.js";
import { writeCocosManifests } from "../../cocos/generate.js";
import { formatBytes } from "../../core/format-bytes.js";
import { type Command, need, out, str, usage } from "../command.js";
import { CHANNEL_OPTION, JSON_OPTION, TRUST_OPTIONS, trustOf } from "../option-groups.js";

function onlyList(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const dirs = value.split(",").filter((d) => d.length > 0);
  if (dirs.length === 0) throw usage("--only needs at least one folder name", "cocos-manifest");
  return dirs;
}

/** `--packages a,b`: the release's packages to list for Cocos clients. */
function packageNames(value: string, command: string): string[] {
  const names = value
    .split(",")
    .map((n) => n.trim())
    .filter((n) => n.length > 0);
  if (names.length === 0) throw usage("--packages needs at least one package name", command);
  return names;
}

export const cocosManifestCommand: Command = {
  name: "cocos-manifest",
  summary: "write Cocos AssetsManagerEx manifests from a build folder or a published release",
  usage: [
    "--src <build-dir> --version <v> --url <url/> --dest <out-dir> [--only <dir,dir,...>] [--json]",
    "--from-repo <repo-dir|url> --trust <root.pub|root.json>... --url <url/> --dest <out-dir> [--version <v>] [--channel stable] [--only <dir,...>] [--packages a,b] [--install-dir <dir>] [--json]",
  ],
  maxPositionals: 0,
  options: {
    src: { type: "string", value: "<build-dir>", description: "the build folder to describe" },
    "from-repo": {
      type: "string",
      value: "<repo-dir|url>",
      description: "describe a published release instead",
    },
    ...TRUST_OPTIONS,
    ...CHANNEL_OPTION,
    "install-dir": {
      type: "string",
      value: "<dir>",
      description: "an install to read content from (--from-repo)",
    },
    version: {
      type: "string",
      value: "<v>",
      description: "the version (--src: required; --from-repo: default the channel's)",
    },
    url: { type: "string", value: "<url/>", description: "the assets' base URL, ending in /" },
    dest: {
      type: "string",
      value: "<out-dir>",
      description: "where to write project.manifest and version.manifest",
    },
    only: { type: "string", value: "<dir,...>", description: "only these top-level folders" },
    packages: {
      type: "string",
      value: "<a,b>",
      description:
        "with --from-repo: optional packages to list too (default: the install's, or the default ones)",
    },
    ...JSON_OPTION,
  },
  examples: [
    "cocos-manifest --src build/ --version 1.0.3 --url https://cdn.example.com/remote-assets/ --dest out/",
  ],
  async run({ values, json }) {
    const command = "cocos-manifest";
    const url = need(str(values, "url"), "--url <url ending in />", command);
    const dest = need(str(values, "dest"), "--dest <out-dir>", command);
    const only = onlyList(str(values, "only"));
    const src = str(values, "src");
    const fromRepo = str(values, "from-repo");
    if ((src === undefined) === (fromRepo === undefined))
      throw usage("Give exactly one of --src <build-dir> and --from-repo <repository>", command);
    let summary: { assets: number; bytes: number; version: string };
    if (src !== undefined) {
      for (const f of ["trust", "trust-threshold", "channel", "install-dir", "packages"] as const)
        if (values[f] !== undefined) throw usage(`--${f} is only for --from-repo`, command);
      const version = need(str(values, "version"), "--version <version>", command);
      const result = await writeCocosManifests({ src, version, url, dest, ...(only ? { only } : {}) });
      summary = { ...result, version };
    } else {
      const version = str(values, "version");
      const channel = str(values, "channel");
      const installDir = str(values, "install-dir");
      const packages = str(values, "packages");
      summary = await cocosFromRepository({
        repo: fromRepo!,
        trust: await trustOf(values, command),
        url,
        dest,
        ...(version === undefined ? {} : { version }),
        ...(channel === undefined ? {} : { channel }),
        ...(installDir === undefined ? {} : { installDir }),
        ...(only ? { only } : {}),
        ...(packages === undefined ? {} : { packages: packageNames(packages, command) }),
        ...(json ? { onEvent: out } : {}),
      });
    }
    if (json) out({ type: "result", ...summary });
    else
      process.stdout.write(
        `Wrote ${dest}/project.manifest and version.manifest (version ${summary.version}): ${summary.assets} assets, ${formatBytes(summary.bytes)}.\n`,
      );
    return 0;
  },
};
