import { haltRollout, setRollout } from "../../publisher/rollout.js";
import { type Command, expiryDays, flag, list, need, out, str, usage } from "../command.js";
import { loadSigningKeys } from "../key-files.js";
import { CHANNEL_OPTION, JSON_OPTION, SIGNING_KEY_OPTION } from "../option-groups.js";

export const rolloutCommand: Command = {
  name: "rollout",
  summary: "widen a staged rollout, or halt it (the channel points at the previous release again)",
  usage: [
    "set <pct> --repo <repo-dir> --key <release.key>... [--channel stable]",
    "halt --repo <repo-dir> --key <release.key>... [--channel stable]",
  ],
  arguments: [
    ["set|halt", "what to do"],
    ["<pct>", "the share of players (set), 0 to 100"],
  ],
  maxPositionals: 2,
  options: {
    repo: { type: "string", value: "<repo-dir>", description: "the repository" },
    ...SIGNING_KEY_OPTION,
    ...CHANNEL_OPTION,
    "expires-days": { type: "string", value: "<days>", description: "the new pointer's expiry (default 90)" },
    "allow-short-expiry": { type: "boolean", description: "accept a pointer that expires soon" },
    ...JSON_OPTION,
  },
  examples: [
    "rollout set 50 --repo repo/ --key keys/ferry.key",
    "rollout halt --repo repo/ --key keys/ferry.key",
  ],
  async run({ values, positionals, json }) {
    const command = "rollout";
    const [action, pct] = positionals;
    if (action !== "set" && action !== "halt")
      throw usage("Use 'ferry rollout set <pct>' or 'ferry rollout halt'", command);
    const percentText = action === "set" ? need(pct, "<pct>", command) : undefined;
    if (action === "halt" && pct !== undefined)
      throw usage(`Unexpected argument ${JSON.stringify(pct)} for 'ferry rollout halt'`, command);
    const expires = expiryDays(str(values, "expires-days"), command);
    const repo = need(str(values, "repo"), "--repo <repo-dir>", command);
    const keyFiles = need(list(values, "key"), "--key <release.key>", command);
    const common = {
      repo,
      keys: await loadSigningKeys(keyFiles, "--key"),
      ...(str(values, "channel") ? { channel: str(values, "channel")! } : {}),
      ...(expires ? { expiresInDays: expires } : {}),
      ...(flag(values, "allow-short-expiry") ? { allowShortExpiry: true } : {}),
    };
    const body =
      percentText === undefined
        ? await haltRollout(common)
        : await setRollout({ ...common, percent: Number(percentText) });
    if (json) out({ type: "result", ...body });
    else
      process.stdout.write(
        action === "halt"
          ? `Halted ${body.halted?.version} on channel '${body.channel}': it points at ${body.version} again (serial ${body.serial}).\n`
          : `Channel '${body.channel}' (${body.version}): rollout ${body.rollout ? `${body.rollout.basisPoints / 100} %` : "complete (100 %)"}, serial ${body.serial}.\n`,
      );
    return 0;
  },
};
