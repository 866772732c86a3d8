import { formatExpiryWarning } from "../../publisher/expiry-warnings.js";
import { writeReport } from "../../publisher/report.js";
import { type Command, need, out, str, usage } from "../command.js";
import { JSON_OPTION, STORE_OPTIONS, storeSettings } from "../option-groups.js";

export const reportCommand: Command = {
  name: "report",
  summary: "write an HTML page: releases, sizes, and what players on each release download",
  usage: ["--repo <repo-dir|s3://bucket/prefix> --out <report.html> [--last 5] [--json]"],
  maxPositionals: 0,
  options: {
    ...STORE_OPTIONS,
    out: { type: "string", value: "<report.html>", description: "the HTML file to write" },
    last: { type: "string", value: "<n>", description: "recent releases per channel to compare (default 5)" },
    ...JSON_OPTION,
  },
  examples: ["report --repo repo/ --out report.html --last 5"],
  async run({ values, json }) {
    const command = "report";
    const lastText = str(values, "last");
    const last = lastText === undefined ? undefined : Number(lastText);
    if (last !== undefined && !(lastText!.trim() !== "" && Number.isSafeInteger(last) && last >= 0))
      throw usage(`--last must be an integer >= 0 (got ${JSON.stringify(lastText)})`, command);
    const outFile = need(str(values, "out"), "--out <report.html>", command);
    const repo = need(str(values, "repo"), "--repo <repo-dir>", command);
    const report = await writeReport({
      repo,
      s3: storeSettings(values),
      out: outFile,
      ...(last !== undefined ? { last } : {}),
    });
    if (json) out({ type: "result", out: outFile, ...report });
    else {
      process.stdout.write(`Wrote ${outFile}: ${report.channels.length} channel(s).\n`);
      for (const w of report.warnings) process.stderr.write(`${formatExpiryWarning(w)}\n`);
    }
    return 0;
  },
};
