import type { LifecycleStatus } from "../client/ops/lifecycle-status.js";
import { markHealthy, open, rollback } from "../client/ops/launch.js";
import { readUpdateLog } from "../client/install/update-log.js";
import { unblock } from "../client/ops/unblock.js";
import { FerryError } from "../core/errors.js";
import type { FileSystem } from "../ports/fs.js";
import { haltRollout, setRollout } from "../publisher/rollout.js";
import { loadSigningKeys } from "./key-files.js";

interface Values {
  readonly repo?: string | undefined;
  readonly key?: string[] | undefined;
  readonly channel?: string | undefined;
  readonly "max-launches"?: string | undefined;
  readonly "expires-days"?: string | undefined;
  readonly "allow-short-expiry"?: boolean | undefined;
  readonly all?: boolean | undefined;
}

function usage(message: string): FerryError {
  return new FerryError("E_USAGE", `${message}. Run 'ferry --help' for usage.`);
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw usage(`Missing ${what}`);
  return value;
}

const out = (object: unknown) => process.stdout.write(`${JSON.stringify(object)}\n`);

/** `ferry status` lines about the lifecycle (channel rollout bucket, health, previous, last error). */
export function formatLifecycle(l: LifecycleStatus): string {
  const lines = [
    `  health: ${l.healthy ? "healthy" : `not yet marked healthy (${l.launches} launch${l.launches === 1 ? "" : "es"})`}; ` +
      `rollback to: ${l.previousVersion ?? "(none kept)"}${l.pending ? "; a staged update waits for the next start" : ""}`,
    `  rollout bucket: ${l.rolloutBucket === null ? "(channel not in a staged rollout)" : `${l.rolloutBucket} of 10000 (rollout reaches buckets below ${l.rolloutBasisPoints})`}; install id ${l.installId ?? "(not created yet)"}`,
    ...l.blocked.map((b) => `  blocked: ${b.version} since ${b.time} (${b.code}: ${b.message})`),
    `  last error: ${l.lastError ? `${l.lastError.time} ${l.lastError.kind} ${l.lastError.code}: ${l.lastError.message}` : "(none)"}`,
  ];
  return `${lines.join("\n")}\n`;
}

/** rollback, open, mark-healthy, log, rollout set|halt, unblock. */
export async function lifecycleCommand(
  command: string,
  args: readonly string[],
  values: Values,
  json: boolean,
  hooks: (installDir: string) => Promise<{ fs?: FileSystem }>,
): Promise<number> {
  switch (command) {
    case "rollback": {
      const dir = need(args[0], "<install-dir>");
      const { fs } = await hooks(dir);
      const result = await rollback({ installDir: dir, ...(fs ? { fs } : {}) });
      if (json) out({ type: "result", ...result });
      else
        process.stdout.write(
          `Rolled back ${result.fromVersion} -> ${result.version}: ${result.filesRestored} files restored, ${result.filesDeleted} removed; ${result.fromVersion} is blocked until a newer release is published ('ferry unblock ${dir} ${result.fromVersion}' allows it again).\n`,
        );
      return 0;
    }
    case "open": {
      const dir = need(args[0], "<install-dir>");
      const limit = values["max-launches"] === undefined ? undefined : Number(values["max-launches"]);
      const { fs } = await hooks(dir);
      const result = await open({
        installDir: dir,
        ...(limit === undefined ? {} : { maxUnhealthyLaunches: limit }),
        ...(fs ? { fs } : {}),
      });
      if (json) out({ type: "result", ...result });
      else
        process.stdout.write(
          (result.staged.applied
            ? `Applied the staged update ${result.staged.fromVersion ?? "(fresh)"} -> ${result.staged.version}.\n`
            : "") +
            (result.rolledBack ? `${result.rolledBack.message}\n` : "") +
            `Starting ${result.version} (${result.healthy ? "healthy" : `launch ${result.launches} before being marked healthy`}).\n`,
        );
      return 0;
    }
    case "unblock": {
      const dir = need(args[0], "<install-dir>");
      if (args.length > 2) throw usage("'ferry unblock' takes one version (or --all)");
      if ((args[1] === undefined) === (values.all !== true))
        throw usage(
          "Give the blocked version to allow again, or --all ('ferry unblock <install-dir> <version>')",
        );
      const { fs } = await hooks(dir);
      const result = await unblock({
        installDir: dir,
        ...(args[1] === undefined ? { all: true } : { version: args[1] }),
        ...(fs ? { fs } : {}),
      });
      if (json) out({ type: "result", ...result });
      else
        process.stdout.write(
          result.unblocked.length === 0
            ? "No release was blocked.\n"
            : `Unblocked ${result.unblocked.map((b) => b.version).join(", ")}: the next update may install ${result.unblocked.length === 1 ? "it" : "them"} again.\n`,
        );
      return 0;
    }
    case "mark-healthy": {
      const health = await markHealthy({ installDir: need(args[0], "<install-dir>") });
      if (json) out({ type: "result", ...health });
      else process.stdout.write(`Marked healthy.\n`);
      return 0;
    }
    case "log": {
      const entries = await readUpdateLog({ installDir: need(args[0], "<install-dir>") });
      for (const e of entries) {
        if (json) out(e);
        else process.stdout.write(`${e.time} ${e.kind.padEnd(16)} ${e.code.padEnd(20)} ${e.message}\n`);
      }
      return 0;
    }
    case "rollout": {
      const action = args[0];
      const common = {
        repo: need(values.repo, "--repo <repo-dir>"),
        keys: await loadSigningKeys(need(values.key, "--key <release.key>"), "--key"),
        ...(values.channel ? { channel: values.channel } : {}),
        ...(values["expires-days"] ? { expiresInDays: Number(values["expires-days"]) } : {}),
        ...(values["allow-short-expiry"] ? { allowShortExpiry: true } : {}),
      };
      let body;
      if (action === "set") body = await setRollout({ ...common, percent: Number(need(args[1], "<pct>")) });
      else if (action === "halt") body = await haltRollout(common);
      else throw usage("Use 'ferry rollout set <pct>' or 'ferry rollout halt'");
      if (json) out({ type: "result", ...body });
      else
        process.stdout.write(
          action === "halt"
            ? `Halted ${body.halted?.version} on channel '${body.channel}': it points at ${body.version} again (serial ${body.serial}).\n`
            : `Channel '${body.channel}' (${body.version}): rollout ${body.rollout ? `${body.rollout.basisPoints / 100} %` : "complete (100 %)"}, serial ${body.serial}.\n`,
        );
      return 0;
    }
    default:
      throw usage(`Unknown command '${command}'`);
  }
}
