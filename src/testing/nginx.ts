/**
 * Runs a real nginx on loopback serving a directory, for integration tests against a production web server.
 *
 * Each instance lives in a private prefix directory (config, pid file, logs, temp paths) that close()
 * removes, runs in the foreground as a single process (`daemon off; master_process off;`) so killing the
 * child we spawned stops everything, and never touches the system's nginx configuration.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { accessSync, constants as fsConstants } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { get } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";

export interface RunningNginx {
  /** Base URL with a trailing slash. */
  url: string;
  close(): Promise<void>;
}

const START_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 3_000;
const BIND_ATTEMPTS = 5;

export function findNginx(): string | undefined {
  const dirs = [
    ...(process.env.PATH ?? "").split(delimiter),
    "/usr/sbin",
    "/usr/local/sbin",
    "/usr/local/nginx/sbin",
  ];
  for (const dir of dirs) {
    if (dir === "") continue;
    const candidate = join(dir, "nginx");
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Temp-path directives for the modules this binary has (an unknown directive would fail the config). */
function tempPathDirectives(nginx: string, prefix: string): string[] {
  const configure = spawnSync(nginx, ["-V"], { encoding: "utf8" }).stderr ?? "";
  const modules = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"];
  return modules
    .filter((m) => m === "client_body" || !configure.includes(`--without-http_${m}_module`))
    .map((m) => `${m}_temp_path ${quote(join(prefix, `${m}_temp`))};`);
}

/** nginx string literal; refuses characters that would need escaping or start a variable. */
function quote(value: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what we refuse
  if (/["\\$\u0000-\u001f]/.test(value))
    throw new Error(`nginx: cannot use path ${JSON.stringify(value)} in a config`);
  return `"${value}"`;
}

/** The default server-level directives: the README's Hosting block (ranges, ETag, cache headers). */
function defaultServer(): string[] {
  const immutable = `add_header Cache-Control "public, max-age=31536000, immutable";`;
  return [
    "etag on;",
    "max_ranges 200;",
    "location / { }",
    `location /packs/ { ${immutable} }`,
    `location /manifests/ { ${immutable} }`,
    `location /objects/ { ${immutable} }`,
    // The README's Hosting block: pointers, roots (a rotation is seen by the 404 of the next one) and the
    // marker revalidate.
    `location /channels/ { add_header Cache-Control "no-cache"; }`,
    `location /root/ { add_header Cache-Control "no-cache"; }`,
    `location = /ferry-repo.json { add_header Cache-Control "no-cache"; }`,
    // Regex locations win over the prefix ones above: publisher temporaries are never served.
    "location ~ \\.tmp- { return 404; }",
  ];
}

function renderConfig(
  root: string,
  prefix: string,
  port: number,
  temps: readonly string[],
  server: readonly string[],
): string {
  return [
    "daemon off;",
    "master_process off;",
    // As root, nginx workers drop to `nobody` and could not read 0700 temp dirs. With master_process off
    // there are no workers to switch; this keeps the config correct if that line is ever removed.
    ...(process.getuid?.() === 0 ? ["user root;"] : []),
    `pid ${quote(join(prefix, "nginx.pid"))};`,
    `error_log ${quote(join(prefix, "error.log"))} warn;`,
    "events { worker_connections 64; }",
    "http {",
    "  access_log off;",
    ...temps.map((t) => `  ${t}`),
    "  types { application/json json; }",
    "  default_type application/octet-stream;",
    "  server {",
    `    listen 127.0.0.1:${port};`,
    "    server_name localhost;",
    // Server level so every location below inherits them.
    `    root ${quote(root)};`,
    ...server.map((line) => `    ${line}`),
    "  }",
    "}",
    "",
  ].join("\n");
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** True once something that calls itself nginx answers HTTP on the port. */
function answersHttp(port: number): Promise<boolean> {
  return new Promise((done) => {
    const req = get({ host: "127.0.0.1", port, path: "/", agent: false, timeout: 1000 }, (res) => {
      res.resume();
      done(String(res.headers.server ?? "").startsWith("nginx"));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => done(false));
  });
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((done) => {
    const timer = setTimeout(() => done(false), ms);
    child.once("exit", () => {
      clearTimeout(timer);
      done(true);
    });
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (exited(child)) return;
  child.kill("SIGTERM");
  if (await waitExit(child, STOP_GRACE_MS)) return;
  child.kill("SIGKILL");
  await waitExit(child, STOP_GRACE_MS);
}

export interface NginxOptions {
  /**
   * Server-level directives (locations, headers) instead of the default ones; `listen`, `server_name`
   * and `root` are always set. A test serving a documented configuration passes its text here.
   */
  readonly server?: string;
  /** Listen on this port (e.g. to restart a server where clients expect it) instead of a free one. */
  readonly port?: number;
}

export async function startNginx(root: string, options: NginxOptions = {}): Promise<RunningNginx> {
  const nginx = findNginx();
  if (nginx === undefined)
    throw new Error("nginx: not found on PATH or in /usr/sbin, /usr/local/sbin, /usr/local/nginx/sbin");
  const prefix = await mkdtemp(join(tmpdir(), "ferry-nginx-"));
  try {
    const temps = tempPathDirectives(nginx, prefix);
    const conf = join(prefix, "nginx.conf");
    const errorLog = join(prefix, "error.log");
    let lastFailure = "";
    for (let attempt = 1; attempt <= BIND_ATTEMPTS; attempt++) {
      // The port is free now but may be taken before nginx binds it; a bind failure retries with another.
      const port = options.port ?? (await freePort());
      const server = options.server?.split("\n") ?? defaultServer();
      await writeFile(conf, renderConfig(resolve(root), prefix, port, temps, server));
      await writeFile(errorLog, ""); // only this attempt's messages
      const child = spawn(nginx, ["-p", `${prefix}/`, "-c", conf, "-e", errorLog], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      child.stderr?.setEncoding("utf8").on("data", (text: string) => {
        stderr += text;
      });
      child.on("error", (error) => {
        stderr += `${error.message}\n`;
      });

      const deadline = Date.now() + START_TIMEOUT_MS;
      let up = false;
      while (!exited(child) && Date.now() < deadline) {
        if (await answersHttp(port)) {
          up = true;
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      if (up && !exited(child)) {
        const url = `http://127.0.0.1:${port}/`;
        let closing: Promise<void> | undefined;
        return {
          url,
          close() {
            closing ??= stop(child).then(() => rm(prefix, { recursive: true, force: true }));
            return closing;
          },
        };
      }
      await stop(child);
      const log = await readFile(errorLog, "utf8").catch(() => "");
      lastFailure = `${stderr}${log}`.trim();
      if (options.port !== undefined || !/address already in use/i.test(lastFailure)) break;
    }
    throw new Error(
      `nginx failed to start (${nginx}):\n${lastFailure || "no output (timed out waiting for HTTP)"}`,
    );
  } catch (error) {
    await rm(prefix, { recursive: true, force: true });
    throw error;
  }
}
