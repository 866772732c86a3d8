#!/usr/bin/env node
import "../register-node.js"; // client operations called without deps use the Node adapters
import { parseArgs } from "node:util";
import type { UpdateEvent } from "../client/events.js";
import { operationHooks } from "./operation-hooks.js";
import { status, verify } from "../client/ops/inspect.js";
import { repair } from "../client/ops/repair.js";
import { changePackages, listPackages } from "../client/ops/packages.js";
import { check, update } from "../client/ops/update.js";
import { canUpdate } from "../client/ops/can-update.js";
import { type CheckAnswer, cachedCheck } from "../client/ops/check-cache.js";
import { runUpdateScreen } from "./ui-command.js";
import { runAgentCommand } from "./agent-command.js";
import { FerryError } from "../core/errors.js";
import { keygen } from "../publisher/keygen.js";
import { publish } from "../publisher/publish.js";
import { planPublish } from "../publisher/plan-publish.js";
import { formatPublishPlan } from "./publish-plan.js";
import { resign, rotateAndResign } from "../publisher/resign.js";
import { initRoot } from "../publisher/roots.js";
import { CONTENT_COMMANDS, CONTENT_HELP, runContentCommand } from "./content-commands.js";
import { loadKeyFiles, loadSigningKeys, loadTrust } from "./key-files.js";
import { formatListenMessage, serveRepository } from "../server/static-server.js";
import type { FileSystem } from "../ports/fs.js";
import { formatBytes } from "../core/format-bytes.js";
import { ProgressRenderer } from "./render.js";
import { mirrorList, s3Settings, withStore } from "./store-flags.js";
import { NETWORK_HELP, NETWORK_OPTIONS, networkSettings } from "./network-flags.js";
import type { VerifyMode } from "../client/plan/incremental.js";
import { formatLifecycle, lifecycleCommand } from "./lifecycle-commands.js";
import { formatPrune, runPrune } from "./prune-command.js";
import { writeReport } from "../publisher/report.js";
import { runLaunchCommand } from "./launch-command.js";
import { formatExpiryWarning } from "../publisher/expiry-warnings.js";
import { daysLeft, EXPIRY_WARNING_DAYS } from "../publisher/publish-guards.js";

const HELP = `ferry — signed, content-addressed live updates for games and apps

Usage:
  ferry keygen <dir> [--name ferry]
  ferry publish <build-dir> --repo <repo-dir|s3://bucket/prefix> --version <v> --key <release.key>... [--channel stable] [--expires-days 90] [--quality 0-11] [--delta-history 0-8] [--layout auto|inline|tree] [--notes <text>] [--runtime <r>] [--mandatory] [--min-version <v>] [--rollout <pct>] [--upload-concurrency 4] [--allow-empty] [--allow-downgrade] [--allow-short-expiry] [--dry-run [--last 5]] [--json]
  ferry prune --repo <repo-dir|s3://bucket/prefix> --keep <n> [--grace-days 7] [--apply] [--json]
  ferry report --repo <repo-dir|s3://bucket/prefix> --out <report.html> [--last 5] [--json]
  ferry resign --repo <repo-dir> --key <release.key>... [--channel stable] [--expires-days 90] [--allow-short-expiry]
  ferry root init --repo <repo-dir> --root-key <root.key|.pub>... --release-key <release.pub>... [--root-threshold 1] [--release-threshold 1] [--expires-days 365]
  ferry root rotate --repo <repo-dir> --sign <root.key>... [--root-key <k>...] [--release-key <k>...] [--root-threshold n] [--release-threshold n] [--expires-days 365]
  ferry serve <repo-dir> [--host 127.0.0.1] [--port 8080]
  ferry update <repo-url> <install-dir> --trust <root.pub|root.json>... [--mirror <url>...] [--trust-threshold 1] [--channel stable] [--allow-downgrade] [--force] [--next-start] [--wait-lock <s>]
               [--verify auto|all|changed] [--packages a,b] [--runtime <r>] [--base <dir>] ${NETWORK_HELP} [--json]
  ferry check <repo-url> <install-dir> --trust <root.pub|root.json>... [--mirror <url>...] [--channel stable] [--allow-downgrade] [--max-age <s>] [--verify auto|all|changed] ${NETWORK_HELP} [--json]
  ferry can-update <install-dir> [--runtime <name>] [--json]
  ferry agent <repo-url> <install-dir> --trust <root.pub|root.json>... [--listen 127.0.0.1:0] ...   (ferry agent --help)
  ferry ui <repo-url> <install-dir> --trust <root.pub|root.json>... [--channel stable] [--port 0] [--simulate available|not-available|error]
  ferry repair <repo-url> <install-dir> --trust <root.pub|root.json>... [--mirror <url>...] ${NETWORK_HELP} [--json]
  ferry packages list <install-dir> [--json]
  ferry packages add|remove <install-dir> <package>... --trust <root.pub|root.json>... [--repo <repo-url>] [--json]
  ferry status <install-dir> [--json]
  ferry verify <install-dir> [--json]
  ferry rollback <install-dir> [--json]              restore the previous release (kept at the last update)
  ferry open <install-dir> [--max-launches 2] [--json]   game start: apply a staged update, count the launch
  ferry mark-healthy <install-dir>                   the game started fine: stop counting launches
  ferry unblock <install-dir> <version> | --all      allow a release blocked by a rollback again (docs/ROLLBACK.md)
  ferry launch <install-dir> [--healthy-after <s>] [--max-unhealthy-launches 2] -- <game> [args...]   start the game through Ferry (ferry launch --help)
  ferry log <install-dir> [--json]                   updates, rollbacks and refusals with their reasons
  ferry rollout set <pct> --repo <repo-dir> --key <release.key>... [--channel stable]
  ferry rollout halt --repo <repo-dir> --key <release.key>... [--channel stable]
${CONTENT_HELP}
--trust takes a root public key (file or the text ferry-ed25519:...; repeat for several, with --trust-threshold)
or a root metadata file (root/<n>.json) shipped with the game. 'ferry publish' on a repository without root
metadata creates root/1.json in which the publishing key is root and release key; see docs/SECURITY.md for
an offline root key and rotation.
--repo for publish, resign and root also takes s3://bucket/prefix, with --s3-endpoint <url>, --s3-region <r>
and --s3-path-style (or FERRY_S3_ENDPOINT, FERRY_S3_REGION, FERRY_S3_PATH_STYLE=1); credentials come from
the AWS environment/profile chain. --mirror adds fallback base URLs after <repo-url> (repeat, or separate
with commas); see docs/HOSTING.md. --deadline bounds the whole operation (default: update and repair 6 h,
check 10 min; 0: none), --min-rate the slowest transfer accepted (default 1024 B/s over 20 s; 0: off),
--request-timeout one request (default 600 s); see docs/RELIABILITY.md.
Exit codes: 0 success (also "already up to date"), 1 failure, 2 usage error.
`;

const OPTIONS = {
  repo: { type: "string" },
  version: { type: "string" },
  channel: { type: "string" },
  key: { type: "string", multiple: true },
  trust: { type: "string", multiple: true },
  "trust-threshold": { type: "string" },
  "allow-downgrade": { type: "boolean" },
  "allow-empty": { type: "boolean" },
  "allow-short-expiry": { type: "boolean" },
  "dry-run": { type: "boolean" },
  all: { type: "boolean" },
  "wait-lock": { type: "string" },
  "root-key": { type: "string", multiple: true },
  "release-key": { type: "string", multiple: true },
  sign: { type: "string", multiple: true },
  "root-threshold": { type: "string" },
  "release-threshold": { type: "string" },
  name: { type: "string" },
  host: { type: "string" },
  port: { type: "string" },
  "expires-days": { type: "string" },
  quality: { type: "string" },
  "delta-history": { type: "string" },
  layout: { type: "string" },
  "s3-endpoint": { type: "string" },
  "s3-region": { type: "string" },
  "s3-path-style": { type: "boolean" },
  "upload-concurrency": { type: "string" },
  mirror: { type: "string", multiple: true },
  mandatory: { type: "boolean" },
  "min-version": { type: "string" },
  rollout: { type: "string" },
  "next-start": { type: "boolean" },
  "max-launches": { type: "string" },
  json: { type: "boolean" },
  packages: { type: "string" },
  runtime: { type: "string" },
  base: { type: "string" },
  force: { type: "boolean" },
  verify: { type: "string" },
  "max-age": { type: "string" },
  notes: { type: "string" },
  simulate: { type: "string" },
  keep: { type: "string" },
  "grace-days": { type: "string" },
  apply: { type: "boolean" },
  out: { type: "string" },
  last: { type: "string" },
  help: { type: "boolean", short: "h" },
  ...NETWORK_OPTIONS,
} as const;

function usage(message: string): FerryError {
  return new FerryError("E_USAGE", `${message}. Run 'ferry --help' for usage.`);
}

/** `--packages a,b`: a comma-separated list of package names. */
function verifyMode(value: string | undefined): { verify?: VerifyMode } {
  if (value === undefined) return {};
  if (value !== "auto" && value !== "all" && value !== "changed")
    throw usage("--verify must be auto, all or changed");
  return { verify: value };
}

function packageList(value: string): string[] {
  const names = value
    .split(",")
    .map((n) => n.trim())
    .filter((n) => n !== "");
  if (names.length === 0) throw usage("--packages needs at least one package name");
  return names;
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw usage(`Missing ${what}`);
  return value;
}

function positiveInteger(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw usage(`${flag} must be a positive integer`);
  return n;
}

/** `--wait-lock <seconds>`: wait for another updater instead of failing at once with E_LOCKED. */
function lockWait(value: string | undefined): { lockWaitMs?: number } {
  if (value === undefined) return {};
  const seconds = Number(value);
  if (!(seconds >= 0) || !Number.isFinite(seconds)) throw usage("--wait-lock must be a number of seconds");
  return { lockWaitMs: Math.round(seconds * 1000) };
}

function expiryDays(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const days = Number(value);
  if (!(days > 0) || !Number.isFinite(days)) throw usage("--expires-days must be a positive number");
  return days;
}

/** The operation's file system and event sink, as a preloaded test hook may wrap them (operation-hooks.ts). */
async function testHooks(
  installDir: string,
  onEvent: (event: UpdateEvent) => void,
): Promise<{ fs?: FileSystem; onEvent: (event: UpdateEvent) => void }> {
  return operationHooks(installDir, onEvent);
}

/** " (answered from the cache, 12 s old)" and the like, for a cached check; a newline either way. */
function describeSource(result: object): string {
  if (!("source" in result)) return "\n";
  const answer = result as CheckAnswer;
  const age = `${Math.round(answer.ageMs / 1000)} s old`;
  switch (answer.source) {
    case "cache":
      return ` (cached answer, ${age})\n`;
    case "not-modified":
      return " (channel unchanged: HTTP 304)\n";
    case "offline":
      return ` (OFFLINE: cached answer, ${age}; ${answer.offlineError?.code ?? ""})\n`;
    default:
      return "\n";
  }
}

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === "launch") return runLaunchCommand(rest); // its own options; everything after -- is the game's
  if (first === "agent") return runAgentCommand(rest); // its own options and help (agent-command.ts)
  if (first !== undefined && CONTENT_COMMANDS.has(first) && !rest.includes("--help") && !rest.includes("-h"))
    return runContentCommand(first, rest);
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  } catch (error) {
    throw usage((error as Error).message);
  }
  const { values, positionals } = parsed;
  const [command, ...args] = positionals;
  if (values.help || command === undefined || command === "help") {
    process.stdout.write(HELP);
    return 0;
  }
  const json = values.json === true;
  const out = (object: unknown) => process.stdout.write(`${JSON.stringify(object)}\n`);
  const renderer = new ProgressRenderer(process.stderr);
  const onEvent = (event: UpdateEvent) => (json ? out(event) : renderer.handle(event));

  switch (command) {
    case "keygen": {
      const result = await keygen(need(args[0], "<dir>"), values.name ?? "ferry");
      if (json) out({ type: "result", ...result });
      else
        process.stdout.write(
          `Wrote ${result.privateKeyPath} (secret: never ship it) and ${result.publicKeyPath} (public).\nKey id: ${result.keyid}\nGames trust the repository's root key: ship ${result.publicKeyPath} with your game only if this key is the root key (a repository's first publish makes its key root and release key); with a separate release key, ship the root key's .pub or root/1.json.\n`,
        );
      return 0;
    }
    case "publish": {
      const epoch = process.env.SOURCE_DATE_EPOCH;
      const expiresDays = expiryDays(values["expires-days"]);
      const concurrency = positiveInteger(values["upload-concurrency"], "--upload-concurrency");
      const options: Parameters<typeof publish>[0] = {
        buildDir: need(args[0], "<build-dir>"),
        repo: need(values.repo, "--repo <repo-dir>"),
        s3: s3Settings(values),
        ...(concurrency ? { upload: { concurrency } } : {}),
        version: need(values.version, "--version <version>"),
        key: await loadSigningKeys(need(values.key, "--key <release.key>"), "--key"),
        ...(values.channel ? { channel: values.channel } : {}),
        ...(epoch ? { created: new Date(Number(epoch) * 1000) } : {}),
        ...(expiresDays ? { expiresInDays: expiresDays } : {}),
        ...(values.quality === undefined ? {} : { quality: Number(values.quality) }),
        ...(values["delta-history"] === undefined ? {} : { deltaHistory: Number(values["delta-history"]) }),
        ...(values.layout === undefined ? {} : { layout: manifestLayout(values.layout) }),
        ...(values.notes === undefined ? {} : { notes: values.notes }),
        ...(values.runtime === undefined ? {} : { runtime: values.runtime }),
        ...(values.mandatory ? { mandatory: true } : {}),
        ...(values["min-version"] === undefined ? {} : { minVersion: values["min-version"] }),
        ...(values.rollout === undefined ? {} : { rolloutPercent: Number(values.rollout) }),
        ...(values["allow-empty"] ? { allowEmpty: true } : {}),
        ...(values["allow-downgrade"] ? { allowDowngrade: true } : {}),
        ...(values["allow-short-expiry"] ? { allowShortExpiry: true } : {}),
        onEvent: (event) => {
          if (json) out(event);
          else if (event.type === "expiry-warning") process.stderr.write(`${formatExpiryWarning(event)}\n`);
          else renderer.upload(event);
        },
      };
      if (values["dry-run"]) {
        const last = values.last === undefined ? undefined : Number(values.last);
        if (last !== undefined && !(Number.isSafeInteger(last) && last >= 0))
          throw usage("--last must be an integer >= 0");
        const plan = await planPublish({ ...options, ...(last === undefined ? {} : { last }) });
        renderer.finish();
        if (json) out({ type: "result", dryRun: true, ...plan });
        else process.stdout.write(formatPublishPlan(plan, options.repo as string));
        return plan.wouldPublish ? 0 : 1;
      }
      const result = await publish(options);
      renderer.finish();
      if (json) out({ type: "result", ...result });
      else
        process.stdout.write(
          `Published ${result.version} to channel '${result.channel}' (serial ${result.serial}): ${result.files} files, ${formatBytes(result.bytes)}; ` +
            `${result.newChunks} of ${result.chunks} chunks new, ${formatBytes(result.storedBytes)} written in ${result.newPacks} pack(s); manifest ${formatBytes(result.manifestBytes)}.\n`,
        );
      return 0;
    }
    case "prune": {
      const result = await runPrune(values);
      if (json) out({ type: "result", ...result });
      else process.stdout.write(formatPrune(result));
      return 0;
    }
    case "report": {
      const last = values.last === undefined ? undefined : Number(values.last);
      if (last !== undefined && !(Number.isSafeInteger(last) && last >= 0))
        throw usage("--last must be an integer >= 0");
      const outFile = need(values.out, "--out <report.html>");
      const report = await writeReport({
        repo: need(values.repo, "--repo <repo-dir>"),
        s3: s3Settings(values),
        out: outFile,
        ...(last !== undefined ? { last } : {}),
      });
      if (json) out({ type: "result", out: outFile, ...report });
      else {
        process.stdout.write(`Wrote ${outFile}: ${report.channels.length} channel(s).\n`);
        for (const w of report.warnings) process.stderr.write(`${formatExpiryWarning(w)}\n`);
      }
      return 0;
    }
    case "resign": {
      const expiresDays = expiryDays(values["expires-days"]);
      const keys = await loadSigningKeys(need(values.key, "--key <release.key>"), "--key");
      const body = await withStore(need(values.repo, "--repo <repo-dir>"), s3Settings(values), (repo) =>
        resign({
          repo,
          keys,
          ...(values.channel ? { channel: values.channel } : {}),
          ...(expiresDays ? { expiresInDays: expiresDays } : {}),
          ...(values["allow-short-expiry"] ? { allowShortExpiry: true } : {}),
        }),
      );
      if (json) out({ type: "result", ...body });
      else
        process.stdout.write(
          `Re-signed channel '${body.channel}' (${body.version}): serial ${body.serial}, root ${body.root}, expires ${body.expires}.\n`,
        );
      return 0;
    }
    case "root": {
      const action = args[0];
      if (action !== "init" && action !== "rotate")
        throw usage("Use 'ferry root init' or 'ferry root rotate'");
      const rootKeys = values["root-key"] ? await loadKeyFiles(values["root-key"], "--root-key") : undefined;
      const releaseKeys = values["release-key"]
        ? await loadKeyFiles(values["release-key"], "--release-key")
        : undefined;
      const signers =
        action === "init"
          ? (rootKeys ?? []).flatMap((k) => (k.signing ? [k.signing] : []))
          : await loadSigningKeys(need(values.sign, "--sign <root.key>"), "--sign");
      const rootThreshold = positiveInteger(values["root-threshold"], "--root-threshold");
      const releaseThreshold = positiveInteger(values["release-threshold"], "--release-threshold");
      const expiresDays = expiryDays(values["expires-days"]);
      const change = {
        signers,
        ...(rootKeys ? { rootKeys: rootKeys.map((k) => k.public) } : {}),
        ...(releaseKeys ? { releaseKeys: releaseKeys.map((k) => k.public) } : {}),
        ...(rootThreshold ? { rootThreshold } : {}),
        ...(releaseThreshold ? { releaseThreshold } : {}),
        ...(expiresDays ? { expiresInDays: expiresDays } : {}),
      };
      const { root: body, resigned } = await withStore(
        need(values.repo, "--repo <repo-dir>"),
        s3Settings(values),
        async (repo) =>
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
    }
    case "serve": {
      const port = values.port === undefined ? 8080 : Number(values.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw usage("--port must be 0..65535");
      const server = await serveRepository({
        root: need(args[0], "<repo-dir>"),
        host: values.host ?? "127.0.0.1",
        port,
      });
      process.stdout.write(`${formatListenMessage(server.url)}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => void server.close().then(resolve);
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      return 0;
    }
    case "can-update": {
      const result = await canUpdate({
        installDir: need(args[0], "<install-dir>"),
        ...(values.runtime === undefined ? {} : { runtime: values.runtime }),
      });
      if (json) out({ type: "result", ...result });
      else if (result.ok && result.directory)
        process.stdout.write(
          `Can install: no install yet in ${result.directory.exists ? "this directory" : "this directory (the first update creates it)"}; ${result.directory.empty ? "it is empty" : `${result.directory.entries} existing entr${result.directory.entries === 1 ? "y is" : "ies are"} adopted (files identical to the release are kept, not downloaded)`}.\n`,
        );
      else if (result.ok) process.stdout.write(`Can update (installed: ${result.version}).\n`);
      else for (const r of result.reasons) process.stdout.write(`Cannot update: ${r.code}: ${r.message}\n`);
      return result.ok ? 0 : 1;
    }
    case "ui":
    case "update":
    case "check": {
      const installDir = need(args[1], "<install-dir>");
      const options = {
        repoUrl: need(args[0], "<repo-url>"),
        mirrors: mirrorList(values.mirror),
        installDir,
        trust: await loadTrust(
          values.trust,
          positiveInteger(values["trust-threshold"], "--trust-threshold") ?? 1,
        ),
        ...(values.channel ? { channel: values.channel } : {}),
        ...(values["allow-downgrade"] ? { allowDowngrade: true } : {}),
        ...(values.force ? { force: true } : {}),
        ...verifyMode(values.verify),
        ...(values["next-start"] ? { applyOn: "next-start" as const } : {}),
        ...lockWait(values["wait-lock"]),
        ...networkSettings(values),
        ...(values.packages === undefined ? {} : { packages: packageList(values.packages) }),
        ...(values.runtime === undefined ? {} : { runtime: values.runtime }),
        ...(values.base === undefined ? {} : { base: values.base }),
        ...(await testHooks(installDir, onEvent)),
      };
      if (command === "ui") {
        const port = values.port === undefined ? 0 : Number(values.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw usage("--port must be 0..65535");
        const mode = values.simulate;
        if (mode !== undefined && mode !== "available" && mode !== "not-available" && mode !== "error")
          throw usage("--simulate must be available, not-available or error");
        // The screen shows the progress; the terminal only says where it is served.
        const quiet = { ...options, onEvent: () => undefined };
        await runUpdateScreen({ ...quiet, ...(mode ? { simulate: { mode } } : {}) }, port, (line) =>
          process.stdout.write(`${line}\n`),
        );
        return 0;
      }
      if (command === "check") {
        const maxAge = values["max-age"] === undefined ? undefined : Number(values["max-age"]);
        if (maxAge !== undefined && !(maxAge >= 0 && Number.isFinite(maxAge)))
          throw usage("--max-age must be a number of seconds");
        const result =
          maxAge === undefined
            ? await check(options)
            : await cachedCheck({ ...options, maxAgeMs: maxAge * 1000 });
        const left = daysLeft(result.expires, new Date());
        if (json) out({ type: "result", ...result, expiresInDays: left });
        else {
          if (left < EXPIRY_WARNING_DAYS)
            process.stderr.write(
              `warning: the channel's signed pointer expires in ${left} day(s) (${result.expires}); after that checks and updates fail with E_EXPIRED until the publisher runs 'ferry resign' (the installed game keeps starting).\n`,
            );
          process.stdout.write(
            (result.heldForRuntime
              ? `Up to date for your runtime: ${result.version} (the channel's ${result.heldForRuntime.version} needs runtime ${result.heldForRuntime.runtime}).`
              : result.updateAvailable
                ? `Update available: ${result.installedVersion ?? "(not installed)"} -> ${result.version}, ${formatBytes(result.downloadBytes)} to download, ${result.filesToWrite} files to write, ${result.filesToDelete} to delete.${result.mandatory ? " Mandatory." : ""}${result.mustUpdate ? ` Versions below ${result.minVersion} must update before playing.` : ""}`
                : `Up to date: ${result.version}.`) + describeSource(result),
          );
        }
        return 0;
      }
      const result = await update(options);
      renderer.finish();
      if (json) out({ type: "result", ...result });
      else if (result.heldForRuntime)
        process.stdout.write(
          `Up to date for your runtime: ${result.version} (the channel's ${result.heldForRuntime.version} needs runtime ${result.heldForRuntime.runtime}).\n`,
        );
      else if (result.upToDate) process.stdout.write(`Already up to date: ${result.version}.\n`);
      else if (result.pending)
        process.stdout.write(
          `Staged ${result.previousVersion ?? "(fresh install)"} -> ${result.version}: applied at the next 'ferry open' (game start).\n`,
        );
      else
        process.stdout.write(
          `Updated ${result.previousVersion ?? "(fresh install)"} -> ${result.version} in ${(result.durationMs / 1000).toFixed(1)} s: downloaded ${formatBytes(result.bytesDownloaded)} ` +
            `(${formatBytes(result.metadataBytes)} metadata) in ${result.requests} requests (range mode: ${result.rangeMode}); ${result.filesWritten} files written, ` +
            `${result.filesDeleted} deleted, ${result.filesKept} unchanged; ${formatBytes(result.bytesReused)} reused from files already on disk` +
            (result.deltasApplied > 0 ? `; ${result.deltasApplied} files rebuilt from binary deltas` : "") +
            ".\n",
        );
      return 0;
    }
    case "repair": {
      const installDir = need(args[1], "<install-dir>");
      const result = await repair({
        repoUrl: need(args[0], "<repo-url>"),
        mirrors: mirrorList(values.mirror),
        installDir,
        trust: await loadTrust(
          values.trust,
          positiveInteger(values["trust-threshold"], "--trust-threshold") ?? 1,
        ),
        ...networkSettings(values),
        ...(await testHooks(installDir, onEvent)),
      });
      renderer.finish();
      if (json) out({ type: "result", ...result });
      else {
        for (const p of result.problems) process.stdout.write(`${p.problem.padEnd(10)} ${p.path}\n`);
        for (const path of result.untracked) process.stdout.write(`untracked  ${path} (kept)\n`);
        process.stdout.write(
          result.filesRepaired === 0
            ? `OK: ${result.filesChecked} files of version ${result.version} verified (${formatBytes(result.bytesChecked)}); nothing to repair.\n`
            : `Repaired ${result.filesRepaired} of ${result.filesChecked} files of version ${result.version}: downloaded ${formatBytes(result.bytesDownloaded)} ` +
                `(${formatBytes(result.metadataBytes)} metadata) in ${result.requests} requests; ${formatBytes(result.bytesReused)} reused from files on disk.\n`,
        );
      }
      return 0;
    }
    case "packages": {
      const action = args[0];
      const installDir = need(args[1], "<install-dir>");
      if (action === "list") {
        const list = await listPackages({ installDir });
        if (json) out({ type: "result", packages: list });
        else
          for (const p of list)
            process.stdout.write(
              `${p.installed ? "installed" : "available"}  ${p.name}${p.optional ? " (optional)" : ""}: ${p.files} files, ${formatBytes(p.bytes)}\n`,
            );
        return 0;
      }
      if (action !== "add" && action !== "remove") throw usage("Use 'ferry packages list|add|remove'");
      const names = args.slice(2);
      if (names.length === 0) throw usage(`Name the package(s) to ${action}`);
      const result = await changePackages({
        installDir,
        trust: await loadTrust(
          values.trust,
          positiveInteger(values["trust-threshold"], "--trust-threshold") ?? 1,
        ),
        ...(values.repo === undefined ? {} : { repoUrl: values.repo }),
        ...(action === "add" ? { add: names } : { remove: names }),
        ...lockWait(values["wait-lock"]),
        ...(await testHooks(installDir, onEvent)),
      });
      renderer.finish();
      if (json) out({ type: "result", ...result });
      else
        process.stdout.write(
          `Packages of ${result.version}: ${result.after.packages.join(", ") || "(none)"}; ${result.filesWritten} files written, ${result.filesDeleted} deleted, ${formatBytes(result.bytesDownloaded)} downloaded.\n`,
        );
      return 0;
    }
    case "status": {
      const result = await status({ installDir: need(args[0], "<install-dir>") });
      if (json) out({ type: "result", ...result });
      else
        process.stdout.write(
          `${result.installDir}: version ${result.version} (channel '${result.channel}', serial ${result.serial}) from ${result.repo}; ${result.files} files, ${formatBytes(result.bytes)}.\n` +
            `installed packages: ${result.packages.join(", ") || "(none)"}` +
            (result.runtime ? `; runtime ${result.runtime}` : "") +
            (result.base ? `; base ${result.base}` : "") +
            ".\n" +
            formatLifecycle(result.lifecycle),
        );
      return 0;
    }
    case "verify": {
      const result = await verify({ installDir: need(args[0], "<install-dir>") });
      if (json) out({ type: "result", ...result });
      else {
        for (const p of result.problems) process.stdout.write(`${p.problem.padEnd(10)} ${p.path}\n`);
        process.stdout.write(
          result.ok
            ? `OK: ${result.filesChecked} files of version ${result.version} verified (${formatBytes(result.bytesChecked)}).\n`
            : `DAMAGED: ${result.problems.length} of ${result.filesChecked} files missing or changed. Run 'ferry repair <repo-url> <install-dir> --trust <key>' to restore them (only the damaged chunks are downloaded).\n`,
        );
      }
      return result.ok ? 0 : 1;
    }
    case "rollback":
    case "open":
    case "mark-healthy":
    case "log":
    case "rollout":
    case "unblock":
      return lifecycleCommand(command, args, values, json, (dir) => testHooks(dir, onEvent));
    default:
      throw usage(`Unknown command '${command}'`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const json = process.argv.includes("--json");
    if (error instanceof FerryError) {
      if (json)
        process.stdout.write(
          `${JSON.stringify({ type: "error", code: error.code, message: error.message, data: error.data })}\n`,
        );
      process.stderr.write(`ferry: ${error.code}: ${error.message}\n`);
      process.exitCode = error.code === "E_USAGE" ? 2 : 1;
    } else {
      process.stderr.write(
        `ferry: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exitCode = 1;
    }
  },
);

function manifestLayout(value: string): "auto" | "inline" | "tree" {
  if (value === "auto" || value === "inline" || value === "tree") return value;
  throw new FerryError("E_USAGE", `Invalid --layout ${JSON.stringify(value)}: use auto, inline or tree.`, {
    layout: value,
  });
}
