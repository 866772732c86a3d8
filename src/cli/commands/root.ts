import { rotateAndResign } from "../../publisher/resign.js";
import { initRoot } from "../../publisher/roots.js";
import { type Command, expiryDays, list, need, out, positiveInteger, str, usage } from "../command.js";
import { loadKeyFiles, loadSigningKeys } from "../key-files.js";
import { JSON_OPTION, STORE_OPTIONS, storeSettings } from "../option-groups.js";
import { withStore } from "../store-flags.js";

export const rootCommand: Command = {
  name: "root",
  summary: "create the repository's root metadata, or rotate its keys (signed by the current root keys)",
  usage: [
    "init --repo <repo-dir> --root-key <root.key|.pub>... --release-key <release.pub>... [--root-threshold 1] [--release-threshold 1] [--expires-days 365]",
    "rotate --repo <repo-dir> --sign <root.key>... [--root-key <k>...] [--release-key <k>...] [--root-threshold n] [--release-threshold n] [--expires-days 365]",
  ],
  arguments: [["init|rotate", "what to do"]],
  maxPositionals: 1,
  options: {
    ...STORE_OPTIONS,
    "root-key": {
      type: "string",
      multiple: true,
      value: "<k>",
      description: "a root key (private key file signs at init; or .pub / ferry-ed25519:...)",
    },
    "release-key": {
      type: "string",
      multiple: true,
      value: "<k>",
      description: "a release key (public key file or text)",
    },
    sign: {
      type: "string",
      multiple: true,
      value: "<root.key>",
      description: "a current root private key (rotate)",
    },
    "root-threshold": { type: "string", value: "<n>", description: "root keys that must sign (default 1)" },
    "release-threshold": {
      type: "string",
      value: "<n>",
      description: "release keys that must sign (default 1)",
    },
    "expires-days": {
      type: "string",
      value: "<days>",
      description: "the root metadata's expiry (default 365)",
    },
    ...JSON_OPTION,
  },
  examples: [
    "root init --repo repo/ --root-key keys/root.key --release-key keys/release.pub",
    "root rotate --repo repo/ --sign keys/root.key --release-key keys/new-release.pub",
  ],
  async run({ values, positionals, json }) {
    const command = "root";
    const action = positionals[0];
    if (action !== "init" && action !== "rotate")
      throw usage("Use 'ferry root init' or 'ferry root rotate'", command);
    if (action === "init" && values.sign !== undefined)
      throw usage(
        "'ferry root init' takes no --sign: the --root-key private key files sign root/1.json",
        command,
      );
    const repoArg = need(str(values, "repo"), "--repo <repo-dir>", command);
    const rootThreshold = positiveInteger(str(values, "root-threshold"), "--root-threshold", command);
    const releaseThreshold = positiveInteger(
      str(values, "release-threshold"),
      "--release-threshold",
      command,
    );
    const expiresDays = expiryDays(str(values, "expires-days"), command);
    const signFiles = action === "rotate" ? need(list(values, "sign"), "--sign <root.key>", command) : [];
    const rootKeyArgs = list(values, "root-key");
    const releaseKeyArgs = list(values, "release-key");
    const rootKeys = rootKeyArgs ? await loadKeyFiles(rootKeyArgs, "--root-key") : undefined;
    const releaseKeys = releaseKeyArgs ? await loadKeyFiles(releaseKeyArgs, "--release-key") : undefined;
    const signers =
      action === "init"
        ? (rootKeys ?? []).flatMap((k) => (k.signing ? [k.signing] : []))
        : await loadSigningKeys(signFiles, "--sign");
    const change = {
      signers,
      ...(rootKeys ? { rootKeys: rootKeys.map((k) => k.public) } : {}),
      ...(releaseKeys ? { releaseKeys: releaseKeys.map((k) => k.public) } : {}),
      ...(rootThreshold ? { rootThreshold } : {}),
      ...(releaseThreshold ? { releaseThreshold } : {}),
      ...(expiresDays ? { expiresInDays: expiresDays } : {}),
    };
    const { root: body, resigned } = await withStore(repoArg, storeSettings(values), async (repo) =>
      action === "init"
        ? { root: await initRoot({ ...change, repo }), resigned: undefined }
        : rotateAndResign({ ...change, repo }),
    );
    const summary = {
      version: body.version,
      expires: body.expires,
      root: body.roles.root,
      release: body.roles.release,
      ...(resigned ? { resigned } : {}),
    };
    const after =
      resigned === undefined
        ? ""
        : resigned.length > 0
          ? ` Re-signed under it: ${resigned.join(", ")}.`
          : " The release keys were not given: run 'ferry resign' for each channel now; until then clients refuse its pointers, signed under an older root (E_ROLLBACK).";
    if (json) out({ type: "result", ...summary });
    else
      process.stdout.write(
        `Wrote root/${body.version}.json: ${body.roles.root.threshold} of ${body.roles.root.keyids.length} root key(s), ${body.roles.release.threshold} of ${body.roles.release.keyids.length} release key(s), expires ${body.expires}.${after}\n`,
      );
    return 0;
  },
};
