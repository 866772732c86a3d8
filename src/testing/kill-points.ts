/**
 * Named kill points for child-process crash tests. The CLI loads this module only when
 * FERRY_TEST_KILL_AT or FERRY_TEST_TRACE is set; nothing in the library knows about it.
 *
 * Every mutating file-system operation and every progress event of a run gets a checkpoint name:
 * `<operation>:<area>` (e.g. `rename:install` is a commit move, `writeFileAtomic:journal` the point of no
 * return, `rename:chunk` a verified download kept in staging) or `event:<type>`.
 * - FERRY_TEST_TRACE=<file> appends one line per checkpoint reached: `<name>#<occurrence>`.
 * - FERRY_TEST_KILL_AT=<before|after>@<name>#<occurrence> SIGKILLs the process itself right before or
 *   right after that occurrence (for an event, "before" and "after" are the same instant).
 */
import { appendFileSync } from "node:fs";
import { relative, sep } from "node:path";
import type { UpdateEvent } from "../client/events.js";
import type { FileSystem, FileWriter } from "../ports/fs.js";

export interface KillPoints {
  fs(inner: FileSystem): FileSystem;
  onEvent(event: UpdateEvent): void;
}

/** Where a path lies in an install, for checkpoint names. */
export function area(root: string, path: string): string {
  const rel = relative(root, path).split(sep).join("/");
  if (rel.startsWith(".ferry/staging/chunks/")) return "chunk";
  if (rel.startsWith(".ferry/staging/files/")) return "staged-file";
  if (rel.startsWith(".ferry/staging")) return "staging";
  if (rel.startsWith(".ferry/manifests")) return "manifest";
  if (rel.startsWith(".ferry/previous")) return "previous";
  if (rel === ".ferry/journal.json") return "journal";
  if (rel === ".ferry/state.json") return "state";
  if (rel === ".ferry/lock") return "lock";
  if (rel === ".ferry" || rel.startsWith(".ferry/")) return "ferry";
  if (rel.startsWith("..")) return "outside";
  return "install";
}

export function killPointsFromEnvironment(
  env: NodeJS.ProcessEnv,
  installRoot: string,
): KillPoints | undefined {
  const trace = env.FERRY_TEST_TRACE;
  const spec = env.FERRY_TEST_KILL_AT;
  if (!trace && !spec) return undefined;
  const match = spec === undefined ? undefined : /^(before|after)@([\w:-]+)#(\d+)$/.exec(spec);
  if (spec !== undefined && !match)
    throw new Error(`FERRY_TEST_KILL_AT=${spec}: expected <before|after>@<name>#<n>`);
  const counts = new Map<string, number>();
  /** Counts the occurrence (returns its number) and kills when it is the chosen "before" point. */
  const arrive = (name: string): number => {
    const n = (counts.get(name) ?? 0) + 1;
    counts.set(name, n);
    if (trace) appendFileSync(trace, `${name}#${n}\n`);
    check(name, n, "before");
    return n;
  };
  const check = (name: string, n: number, when: "before" | "after"): void => {
    if (match && match[1] === when && match[2] === name && Number(match[3]) === n) {
      process.kill(process.pid, "SIGKILL");
    }
  };
  // Occurrence numbers are taken on arrival, so concurrent operations of one name keep theirs.
  const around = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const n = arrive(name);
    const result = await work();
    check(name, n, "after");
    return result;
  };
  const named = (op: string, path: string) => `${op}:${area(installRoot, path)}`;
  return {
    onEvent: (event) => check(`event:${event.type}`, arrive(`event:${event.type}`), "after"),
    fs: (inner) => ({
      stat: (p) => inner.stat(p),
      readFile: (p) => inner.readFile(p),
      readRange: (p, o, l) => inner.readRange(p, o, l),
      readBlocks: (p) => inner.readBlocks(p),
      readdir: (p) => inner.readdir(p),
      readdirBytes: (p) => inner.readdirBytes(p),
      freeSpace: (p) => inner.freeSpace(p),
      createWriter: (p, mode) =>
        around(named("createWriter", p), async (): Promise<FileWriter> => {
          const writer = await inner.createWriter(p, mode);
          return {
            write: (data) => writer.write(data),
            commit: () => around(named("commitWriter", p), () => writer.commit()),
            abort: () => writer.abort(),
          };
        }),
      writeFile: (p, d) => around(named("writeFile", p), () => inner.writeFile(p, d)),
      writeFileAtomic: (p, d, m) => around(named("writeFileAtomic", p), () => inner.writeFileAtomic(p, d, m)),
      createExclusive: (p, d) => around(named("createExclusive", p), () => inner.createExclusive(p, d)),
      rename: (from, to) => around(named("rename", to), () => inner.rename(from, to)),
      unlink: (p) => around(named("unlink", p), () => inner.unlink(p)),
      mkdirp: (p) => around(named("mkdirp", p), () => inner.mkdirp(p)),
      rmdirIfEmpty: (p) => around(named("rmdirIfEmpty", p), () => inner.rmdirIfEmpty(p)),
      removeTree: (p) => around(named("removeTree", p), () => inner.removeTree(p)),
      chmod: (p, m) => around(named("chmod", p), () => inner.chmod(p, m)),
      fsyncDir: (p) => around(named("fsyncDir", p), () => inner.fsyncDir(p)),
    }),
  };
}
