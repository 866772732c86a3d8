/**
 * Method name → library call (docs/AGENT.md "Methods"). Each entry validates its params and calls one
 * operation of src/client/ops or src/mounts; the agent adds no logic the library lacks.
 */
import { canUpdate } from "../client/ops/can-update.js";
import { ensure, missing } from "../client/ops/ensure.js";
import { status, verify } from "../client/ops/inspect.js";
import { markHealthy, open, rollback } from "../client/ops/launch.js";
import { changePackages, listPackages } from "../client/ops/packages.js";
import { repair } from "../client/ops/repair.js";
import { FerryError, isFerryError } from "../core/errors.js";
import { type Params, ParamReader, PROTOCOL_VERSION } from "./protocol.js";
import type { AgentSession } from "./session.js";

type Method = (session: AgentSession, params: Params) => Promise<unknown>;

const reader = (method: string, params: Params, allowed: readonly string[]) =>
  new ParamReader(method, params, allowed);

/** Ports the session was given (tests), for operations that take only an install directory. */
const install = (s: AgentSession) => ({ installDir: s.config.installDir, ...s.config.deps });

/** What `hello` answers and the stdio transport writes first. */
export function hello(session: AgentSession): Record<string, unknown> {
  return {
    type: "hello",
    protocol: PROTOCOL_VERSION,
    ferry: session.config.ferryVersion,
    installDir: session.config.installDir,
    methods: METHOD_NAMES,
  };
}

const methodsTable: Record<string, Method> = {
  hello: async (s, p) => {
    reader("hello", p, []);
    return hello(s);
  },

  check: async (s, p) => {
    const r = reader("check", p, ["maxAgeSeconds", "simulate"]);
    const maxAge = r.number("maxAgeSeconds");
    if (s.busyWith) return busy(s, "check");
    const updater = s.updaterFor(r.simulate());
    const answer = await s.exclusive("check", false, updater, () =>
      updater.check(maxAge === undefined ? {} : { maxAgeMs: maxAge * 1000 }),
    );
    const a = answer as { source: string };
    return { ...a, stale: a.source === "offline" };
  },

  update: async (s, p) => {
    const r = reader("update", p, ["force", "packages", "simulate", "background"]);
    const force = r.bool("force") === true;
    const packages = r.strings("packages");
    const simulate = r.simulate();
    const background = r.bool("background") === true;
    if (s.busyWith) return busy(s, "update");
    const updater = s.updaterFor(simulate, packages);
    return s.exclusive("update", background, updater, () => updater.update(force ? { force } : {}));
  },

  resume: async (s, p) => {
    const r = reader("resume", p, ["background"]);
    const background = r.bool("background") === true;
    const updater = s.snapshotUpdater;
    return s.exclusive("resume", background, updater, () => updater.resume());
  },

  cancel: async (s, p) => {
    reader("cancel", p, []);
    return { ok: s.cancel() };
  },

  pause: async (s, p) => {
    reader("pause", p, []);
    return { ok: s.pause() };
  },

  lifecycle: async (s, p) => {
    reader("lifecycle", p, []);
    const snap = s.snapshotUpdater.snapshot();
    return {
      state: snap.state,
      progress: snap.progress ?? null,
      lastCheck: snap.lastCheck ?? null,
      error: snap.error ?? null,
    };
  },

  status: async (s, p) => {
    reader("status", p, []);
    try {
      return await status(install(s));
    } catch (error) {
      // Before the first install the game still asks what it has: nothing.
      if (isFerryError(error, "E_NOT_INSTALLED"))
        return { installDir: s.config.installDir, version: null, packages: [] };
      throw error;
    }
  },

  canUpdate: async (s, p) => {
    reader("canUpdate", p, []);
    return canUpdate({
      installDir: s.config.installDir,
      ...(s.config.runtime === undefined ? {} : { runtime: s.config.runtime }),
      ...(s.config.deps?.fs ? { fs: s.config.deps.fs } : {}),
    });
  },

  verify: async (s, p) => {
    reader("verify", p, []);
    return verify(install(s));
  },

  repair: async (s, p) => {
    const r = reader("repair", p, ["background"]);
    whileGameRuns(s, "repair", "it replaces damaged files the game may have open");
    return s.exclusive("repair", r.bool("background") === true, undefined, (signal) =>
      repair({ ...s.base, signal, onEvent: s.onLibraryEvent }),
    );
  },

  rollback: async (s, p) => {
    reader("rollback", p, []);
    whileGameRuns(s, "rollback", "it replaces the files the game runs from");
    return s.exclusive("rollback", false, undefined, () => rollback(install(s)));
  },

  open: async (s, p) => {
    const r = reader("open", p, ["maxUnhealthyLaunches"]);
    const limit = r.number("maxUnhealthyLaunches", 1);
    // Under `ferry launch` the launch already opened the install before the game started.
    if (s.config.gameRunning?.opened) return s.config.gameRunning.opened;
    whileGameRuns(s, "open", "ferry launch could not open the install before the game started");
    return s.exclusive("open", false, undefined, () =>
      open({ ...install(s), ...(limit === undefined ? {} : { maxUnhealthyLaunches: limit }) }),
    );
  },

  markHealthy: async (s, p) => {
    reader("markHealthy", p, []);
    return s.exclusive("markHealthy", false, undefined, () => markHealthy(install(s)));
  },

  "packages.list": async (s, p) => {
    reader("packages.list", p, []);
    return listPackages(install(s));
  },

  "packages.add": async (s, p) => changeMethod(s, p, "add"),
  "packages.remove": async (s, p) => changeMethod(s, p, "remove"),

  missing: async (s, p) => {
    const r = reader("missing", p, ["packages", "paths"]);
    const packages = r.strings("packages");
    const paths = r.strings("paths");
    return missing({
      ...install(s),
      ...(packages === undefined ? {} : { packages }),
      ...(paths === undefined ? {} : { paths }),
    });
  },

  ensure: async (s, p) => {
    const r = reader("ensure", p, ["packages", "paths", "background"]);
    const packages = r.strings("packages");
    const paths = r.strings("paths");
    return s.exclusive("ensure", r.bool("background") === true, undefined, (signal) =>
      ensure({
        ...s.base,
        ...(packages === undefined ? {} : { packages }),
        ...(paths === undefined ? {} : { paths }),
        signal,
        onEvent: s.onLibraryEvent,
      }),
    );
  },

  "mounts.list": async (s, p) => {
    reader("mounts.list", p, []);
    const mounts = await s.mountTable();
    return mounts.getMounts();
  },

  "mounts.add": async (s, p) => {
    const r = reader("mounts.add", p, ["name", "uri", "priority"]);
    const name = r.needString("name");
    const uri = r.needString("uri");
    const priority = r.integer("priority");
    const mounts = await s.mountTable();
    return mounts.addMount(name, uri, priority);
  },

  "mounts.remove": async (s, p) => {
    const r = reader("mounts.remove", p, ["name"]);
    const name = r.needString("name");
    const mounts = await s.mountTable();
    await mounts.removeMount(name);
    return { ok: true };
  },

  "mounts.resolve": async (s, p) => {
    const r = reader("mounts.resolve", p, ["path"]);
    const path = r.needString("path");
    const mounts = await s.mountTable();
    return (await mounts.resolve(path)) ?? null;
  },
};

/** Every method except `shutdown`, which the transports handle (they own the process's end). */
export const METHODS: Readonly<Record<string, Method>> = methodsTable;

/** The method names of the protocol, `shutdown` included. */
export const METHOD_NAMES: readonly string[] = [...Object.keys(methodsTable), "shutdown"];

/** Under `ferry launch`, refuses a method that would change installed files while the game runs. */
function whileGameRuns(s: AgentSession, method: string, why: string): void {
  if (s.config.gameRunning === undefined) return;
  throw new FerryError(
    "E_BUSY",
    `Cannot run ${method} while the game runs (started by ferry launch): ${why}. Run it after the game exits; updates are staged and applied at the next launch.`,
    { method, running: "game" },
  );
}

function busy(s: AgentSession, method: string): never {
  throw new FerryError(
    "E_BUSY",
    `Cannot run ${method}: ${s.busyWith} is running. Wait for its result (or its job event), or send cancel.`,
    { method, running: s.busyWith ?? null },
  );
}

function changeMethod(s: AgentSession, p: Params, action: "add" | "remove"): Promise<unknown> {
  const method = `packages.${action}`;
  if (action === "remove") whileGameRuns(s, method, "it deletes files the game may have open");
  const r = reader(method, p, ["names", "background"]);
  const names = r.strings("names");
  if (names === undefined || names.length === 0)
    throw new FerryError("E_USAGE", `${method}: parameter "names" must list at least one package.`, {
      method,
      param: "names",
    });
  return s.exclusive(method, r.bool("background") === true, undefined, (signal) =>
    changePackages({
      ...s.base,
      [action]: names,
      signal,
      onEvent: s.onLibraryEvent,
    }),
  );
}

/** Calls `method` with `params`; E_USAGE for a method the protocol does not have. */
export function callMethod(session: AgentSession, method: string, params: Params): Promise<unknown> {
  const fn = Object.hasOwn(METHODS, method) ? METHODS[method] : undefined;
  if (!fn)
    return Promise.reject(
      new FerryError(
        "E_USAGE",
        `Unknown method ${JSON.stringify(method)}: the agent (protocol ${PROTOCOL_VERSION}) has ${METHOD_NAMES.join(", ")}.`,
        { method },
      ),
    );
  return fn(session, params);
}
