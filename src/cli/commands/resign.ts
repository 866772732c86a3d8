import { resign } from "../../publisher/resign.js";
import { type Command, expiryDays, flag, list, need, out, str } from "../command.js";
import { loadSigningKeys } from "../key-files.js";
import {
  CHANNEL_OPTION,
  JSON_OPTION,
  SIGNING_KEY_OPTION,
  STORE_OPTIONS,
  storeSettings,
} from "../option-groups.js";
import { withStore } from "../store-flags.js";

export const resignCommand: Command = {
  name: "resign",
  summary: "re-sign a channel's pointer with a fresh expiry (a weekly cron job)",
  usage: [
    "--repo <repo-dir|s3://bucket/prefix> --key <release.key>... [--channel stable] [--expires-days 90] [--allow-short-expiry]",
  ],
  maxPositionals: 0,
  options: {
    ...STORE_OPTIONS,
    ...SIGNING_KEY_OPTION,
    ...CHANNEL_OPTION,
    "expires-days": { type: "string", value: "<days>", description: "the new expiry (default 90)" },
    "allow-short-expiry": { type: "boolean", description: "accept a pointer that expires within a week" },
    ...JSON_OPTION,
  },
  examples: ["resign --repo repo/ --key keys/ferry.key --expires-days 90"],
  async run({ values, json }) {
    const command = "resign";
    const expiresDays = expiryDays(str(values, "expires-days"), command);
    const repoArg = need(str(values, "repo"), "--repo <repo-dir>", command);
    const keys = await loadSigningKeys(need(list(values, "key"), "--key <release.key>", command), "--key");
    const channel = str(values, "channel");
    const body = await withStore(repoArg, storeSettings(values), (repo) =>
      resign({
        repo,
        keys,
        ...(channel ? { channel } : {}),
        ...(expiresDays ? { expiresInDays: expiresDays } : {}),
        ...(flag(values, "allow-short-expiry") ? { allowShortExpiry: true } : {}),
      }),
    );
    if (json) out({ type: "result", ...body });
    else
      process.stdout.write(
        `Re-signed channel '${body.channel}' (${body.version}): serial ${body.serial}, root ${body.root}, expires ${body.expires}.\n`,
      );
    return 0;
  },
};
