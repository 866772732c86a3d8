#!/usr/bin/env node
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import type { UpdateEvent } from "../client/events.js";
import { status, verify } from "../client/inspect.js";
import { repair } from "../client/repair.js";
import { check, update } from "../client/update.js";
import { FerryError } from "../core/errors.js";
import { type PublicKey, parsePrivateKey, parsePublicKey } from "../core/keys.js";
import { keygen } from "../publisher/keygen.js";
import { publish } from "../publisher/publish.js";
import { formatListenMessage, serveRepository } from "../server/static-server.js";
import { NodeFileSystem } from "../node/node-fs.js";
import type { FileSystem } from "../ports/fs.js";
import { formatBytes, ProgressRenderer } from "./render.js";

const HELP = `ferry — signed, content-addressed live updates for games and apps

Usage:
  ferry keygen <dir>
  ferry publish <build-dir> --repo <repo-dir> --version <v> --key <ferry.key> [--channel stable] [--expires-days 30] [--quality 0-11] [--json]
  ferry serve <repo-dir> [--host 127.0.0.1] [--port 8080]
  ferry update <repo-url> <install-dir> --trust <ferry.pub> [--channel stable] [--json]
  ferry check <repo-url> <install-dir> --trust <ferry.pub> [--channel stable] [--json]
  ferry repair <repo-url> <install-dir> --trust <ferry.pub> [--json]
  ferry status <install-dir> [--json]
  ferry verify <install-dir> [--json]

--trust takes a public key file or the key text itself (ferry-ed25519:...); repeat it to trust several keys.
Exit codes: 0 success (also "already up to date"), 1 failure, 2 usage error.
`;

const OPTIONS = {
  repo: { type: "string" },
  version: { type: "string" },
  key: { type: "string" },
  channel: { type: "string" },
  trust: { type: "string", multiple: true },
  host: { type: "string" },
  port: { type: "string" },
  "expires-days": { type: "string" },
  quality: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

function usage(message: string): FerryError {
  return new FerryError("E_USAGE", `${message}. Run 'ferry --help' for usage.`);
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw usage(`Missing ${what}`);
  return value;
}

async function loadTrust(values: readonly string[] | undefined): Promise<PublicKey[]> {
  if (!values || values.length === 0)
    throw usage("Missing --trust <public-key>: Ferry only installs what a key you trust signed");
  return Promise.all(
    values.map(async (value) => {
      if (value.startsWith("ferry-ed25519:")) return parsePublicKey(value, "--trust");
      const text = await readFile(value, "utf8").catch((cause) => {
        throw new FerryError(
          "E_KEY",
          `Cannot read the public key file ${value}: ${(cause as Error).message}.`,
          { path: value },
          { cause },
        );
      });
      return parsePublicKey(text, value);
    }),
  );
}

/**
 * Test hook for child-process kill tests (src/testing/kill-points.ts): loaded only when
 * FERRY_TEST_KILL_AT or FERRY_TEST_TRACE is set. Wraps the file system and the event sink of one
 * operation; the library itself has no test switches.
 */
async function testHooks(
  installDir: string,
  onEvent: (event: UpdateEvent) => void,
): Promise<{ fs?: FileSystem; onEvent: (event: UpdateEvent) => void }> {
  if (!process.env.FERRY_TEST_KILL_AT && !process.env.FERRY_TEST_TRACE) return { onEvent };
  const { killPointsFromEnvironment } = await import("../testing/kill-points.js");
  const points = killPointsFromEnvironment(process.env, resolve(installDir))!;
  return {
    fs: points.fs(new NodeFileSystem()),
    onEvent: (event) => {
      points.onEvent(event);
      onEvent(event);
    },
  };
}

async function main(argv: string[]): Promise<number> {
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
      const result = await keygen(need(args[0], "<dir>"));
      if (json) out({ type: "result", ...result });
      else
        process.stdout.write(
          `Wrote ${result.privateKeyPath} (keep it secret) and ${result.publicKeyPath} (ship it with your game).\nKey id: ${result.keyid}\n`,
        );
      return 0;
    }
    case "publish": {
      const pem = await readFile(need(values.key, "--key <ferry.key>"), "utf8").catch((cause) => {
        throw new FerryError(
          "E_KEY",
          `Cannot read the private key ${values.key}: ${(cause as Error).message}.`,
          { path: values.key ?? "" },
          { cause },
        );
      });
      const epoch = process.env.SOURCE_DATE_EPOCH;
      const expiresDays = values["expires-days"] === undefined ? undefined : Number(values["expires-days"]);
      if (expiresDays !== undefined && !(expiresDays > 0))
        throw usage("--expires-days must be a positive number");
      const result = await publish({
        buildDir: need(args[0], "<build-dir>"),
        repo: need(values.repo, "--repo <repo-dir>"),
        version: need(values.version, "--version <version>"),
        key: parsePrivateKey(pem, values.key!),
        ...(values.channel ? { channel: values.channel } : {}),
        ...(epoch ? { created: new Date(Number(epoch) * 1000) } : {}),
        ...(expiresDays ? { expiresInDays: expiresDays } : {}),
        ...(values.quality === undefined ? {} : { quality: Number(values.quality) }),
        onEvent: (event) => {
          if (json) out(event);
        },
      });
      if (json) out({ type: "result", ...result });
      else
        process.stdout.write(
          `Published ${result.version} to channel '${result.channel}' (serial ${result.serial}): ${result.files} files, ${formatBytes(result.bytes)}; ` +
            `${result.newChunks} of ${result.chunks} chunks new, ${formatBytes(result.storedBytes)} written in ${result.newPacks} pack(s); manifest ${formatBytes(result.manifestBytes)}.\n`,
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
    case "update":
    case "check": {
      const installDir = need(args[1], "<install-dir>");
      const options = {
        repoUrl: need(args[0], "<repo-url>"),
        installDir,
        trust: await loadTrust(values.trust),
        ...(values.channel ? { channel: values.channel } : {}),
        ...(await testHooks(installDir, onEvent)),
      };
      if (command === "check") {
        const result = await check(options);
        if (json) out({ type: "result", ...result });
        else
          process.stdout.write(
            result.updateAvailable
              ? `Update available: ${result.installedVersion ?? "(not installed)"} -> ${result.version}, ${formatBytes(result.downloadBytes)} to download, ${result.filesToWrite} files to write, ${result.filesToDelete} to delete.\n`
              : `Up to date: ${result.version}.\n`,
          );
        return 0;
      }
      const result = await update(options);
      renderer.finish();
      if (json) out({ type: "result", ...result });
      else if (result.upToDate) process.stdout.write(`Already up to date: ${result.version}.\n`);
      else
        process.stdout.write(
          `Updated ${result.previousVersion ?? "(fresh install)"} -> ${result.version} in ${(result.durationMs / 1000).toFixed(1)} s: downloaded ${formatBytes(result.bytesDownloaded)} ` +
            `(${formatBytes(result.metadataBytes)} metadata) in ${result.requests} requests (range mode: ${result.rangeMode}); ${result.filesWritten} files written, ` +
            `${result.filesDeleted} deleted, ${result.filesKept} unchanged; ${formatBytes(result.bytesReused)} reused from files already on disk.\n`,
        );
      return 0;
    }
    case "repair": {
      const installDir = need(args[1], "<install-dir>");
      const result = await repair({
        repoUrl: need(args[0], "<repo-url>"),
        installDir,
        trust: await loadTrust(values.trust),
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
    case "status": {
      const result = await status(need(args[0], "<install-dir>"));
      if (json) out({ type: "result", ...result });
      else
        process.stdout.write(
          `${result.installDir}: version ${result.version} (channel '${result.channel}', serial ${result.serial}) from ${result.repo}; ${result.files} files, ${formatBytes(result.bytes)}.\n`,
        );
      return 0;
    }
    case "verify": {
      const result = await verify(need(args[0], "<install-dir>"));
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
