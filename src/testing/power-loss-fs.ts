import { createHash } from "node:crypto";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Effect, InitialEntry } from "./recording-fs.js";
import { seededRandom } from "./random.js";

/**
 * Crash states after a power loss, generated from a recorded run (RecordingFileSystem). The model is the
 * FileSystem port's durability contract, as POSIX allows it:
 * - a file's data (content and mode) written after its last fsync may be lost: the file then holds its
 *   last fsynced content, is empty, or is cut in half;
 * - a directory-entry change (create, mkdir, rename, unlink, rmdir) not followed by an fsync of its
 *   directory may be undone, each independently of the others; a rename is atomic (as on every
 *   journaling file system) and durable once the target's directory is fsynced;
 * - an effect whose precondition an undone effect removed (a file created in an undone directory) is
 *   undone with it.
 * For a crash after each prefix of the trace, the states are: everything volatile lost, nothing lost,
 * each volatile entry change undone alone, each dirty file's data lost alone (three ways), and a few
 * seeded random combinations. Equal states are produced once.
 */
export type FileState =
  | { readonly kind: "dir" }
  | {
      readonly kind: "file";
      readonly parts: readonly Uint8Array[];
      readonly length: number;
      readonly exec: boolean;
      readonly id: string;
    };

export interface CrashState {
  /** Number of trace effects that happened before the power went out. */
  readonly prefix: number;
  /** How this state was chosen (for messages). */
  readonly variant: string;
  readonly tree: ReadonlyMap<string, FileState>;
}

type Choice = "current" | "durable" | "empty" | "half";

interface Content {
  parts: Uint8Array[];
  length: number;
  exec: boolean;
  id: string;
}

function parentOf(path: string): string {
  return path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
}

/** The state model at one prefix: what is current, what is durable, what may be undone. */
class Prefix {
  readonly current = new Map<number, Content>();
  readonly durable = new Map<number, Content>();
  /** Directory-entry effects that an fsync of their directory has not yet made durable. */
  readonly volatile = new Set<number>();
  private version = 0;

  constructor(initial: readonly InitialEntry[]) {
    for (const e of initial) {
      if (e.kind !== "file") continue;
      const c = { parts: [e.data!], length: e.data!.length, exec: e.exec ?? false, id: `i${e.ino}` };
      this.current.set(e.ino, c);
      this.durable.set(e.ino, c);
    }
  }

  advance(effect: Effect, index: number, effects: readonly Effect[]): void {
    const fresh = (ino: number, parts: Uint8Array[], exec: boolean): void => {
      this.current.set(ino, {
        parts,
        length: parts.reduce((n, p) => n + p.length, 0),
        exec,
        id: `v${++this.version}`,
      });
    };
    switch (effect.t) {
      case "link":
        if (effect.kind === "file" && !this.current.has(effect.ino)) {
          const empty = { parts: [], length: 0, exec: effect.exec, id: `v${++this.version}` };
          this.current.set(effect.ino, empty);
          this.durable.set(effect.ino, empty);
        }
        this.volatile.add(index);
        return;
      case "unlink":
      case "move":
        this.volatile.add(index);
        return;
      case "truncate":
        fresh(effect.ino, [], this.current.get(effect.ino)?.exec ?? false);
        return;
      case "write": {
        const c = this.current.get(effect.ino)!;
        fresh(effect.ino, [...c.parts, effect.data], c.exec);
        return;
      }
      case "chmod": {
        const c = this.current.get(effect.ino);
        if (c && c.exec !== effect.exec) fresh(effect.ino, c.parts, effect.exec);
        return;
      }
      case "fsync":
        this.durable.set(effect.ino, this.current.get(effect.ino)!);
        return;
      case "fsyncDir":
        for (const i of this.volatile) {
          const e = effects[i]!;
          if ("dir" in e && e.dir === effect.dir) this.volatile.delete(i);
        }
        return;
    }
  }

  /** Inodes whose current content or mode is not durable. */
  dirty(): number[] {
    return [...this.current.keys()].filter((ino) => this.current.get(ino) !== this.durable.get(ino));
  }
}

/** Replays the namespace effects of a prefix, skipping `undone` ones and those their loss made impossible. */
function replayNames(
  initial: readonly InitialEntry[],
  effects: readonly Effect[],
  prefix: number,
  undone: ReadonlySet<number>,
): Map<string, number> {
  const names = new Map<string, number>([["", 0]]);
  const dirs = new Set<number>([0]);
  for (const e of initial) {
    names.set(e.path, e.ino);
    if (e.kind === "dir") dirs.add(e.ino);
  }
  const parentIsDir = (path: string): boolean => {
    const p = names.get(parentOf(path));
    return p !== undefined && dirs.has(p);
  };
  const hasChildren = (path: string): boolean => {
    for (const name of names.keys()) if (name.startsWith(`${path}/`)) return true;
    return false;
  };
  for (let i = 0; i < prefix; i++) {
    const e = effects[i]!;
    if (undone.has(i)) continue;
    if (e.t === "link") {
      const existing = names.get(e.path);
      if (!parentIsDir(e.path)) continue;
      if (existing !== undefined) continue;
      names.set(e.path, e.ino);
      if (e.kind === "dir") dirs.add(e.ino);
    } else if (e.t === "unlink") {
      if (names.get(e.path) !== e.ino || hasChildren(e.path)) continue;
      names.delete(e.path);
    } else if (e.t === "move") {
      const target = names.get(e.to);
      if (names.get(e.from) !== e.ino || (target !== undefined && dirs.has(target))) continue;
      names.delete(e.from);
      names.set(e.to, e.ino);
    }
  }
  return names;
}

function half(c: Content): Content {
  const bytes = Buffer.concat(c.parts).subarray(0, Math.floor(c.length / 2));
  return { parts: [bytes], length: bytes.length, exec: c.exec, id: `${c.id}h` };
}

function materializeTree(
  names: Map<string, number>,
  model: Prefix,
  choices: ReadonlyMap<number, Choice>,
): Map<string, FileState> {
  const tree = new Map<string, FileState>();
  for (const [path, ino] of names) {
    if (path === "") continue;
    const current = model.current.get(ino);
    if (!current) {
      tree.set(path, { kind: "dir" });
      continue;
    }
    const choice = choices.get(ino) ?? "current";
    const c =
      choice === "durable"
        ? model.durable.get(ino)!
        : choice === "empty"
          ? { parts: [], length: 0, exec: current.exec, id: "empty" }
          : choice === "half"
            ? half(current)
            : current;
    tree.set(path, { kind: "file", ...c });
  }
  return tree;
}

function fingerprint(tree: ReadonlyMap<string, FileState>): string {
  const h = createHash("sha256");
  for (const path of [...tree.keys()].sort()) {
    const s = tree.get(path)!;
    h.update(`${path}\0${s.kind === "dir" ? "d" : `${s.id}:${s.length}:${s.exec}`}\n`);
  }
  return h.digest("hex");
}

/**
 * The states of one prefix, lazily: "everything volatile lost" first (the harshest), then the others
 * (nothing lost, each single loss, random combinations) in a seeded shuffle, so that a bounded run
 * samples every kind. Content-equal files may carry different ids: such states are then checked twice.
 */
function* variantsAt(
  initial: readonly InitialEntry[],
  effects: readonly Effect[],
  prefix: number,
  model: Prefix,
  randomPerPrefix: number,
): Generator<CrashState> {
  const volatile = [...model.volatile];
  const dirty = model.dirty();
  type Variant = { variant: string; undone: ReadonlySet<number>; choices: ReadonlyMap<number, Choice> };
  const none = new Set<number>();
  const rest: Variant[] = [{ variant: "nothing lost", undone: none, choices: new Map() }];
  for (const i of volatile)
    rest.push({ variant: `undo ${describe(effects[i]!)}`, undone: new Set([i]), choices: new Map() });
  for (const ino of dirty) {
    for (const choice of ["durable", "empty", "half"] as const) {
      rest.push({ variant: `inode ${ino} data ${choice}`, undone: none, choices: new Map([[ino, choice]]) });
    }
  }
  const rand = seededRandom(prefix * 7919 + 17);
  const choicesList: Choice[] = ["current", "durable", "empty", "half"];
  for (let r = 0; r < randomPerPrefix; r++) {
    const undone = new Set(volatile.filter(() => rand() < 0.5));
    const choices = new Map(dirty.map((ino) => [ino, choicesList[Math.floor(rand() * 4)]!]));
    rest.push({ variant: `random #${r}`, undone, choices });
  }
  for (let i = rest.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [rest[i], rest[j]] = [rest[j]!, rest[i]!];
  }
  const all: Variant[] = [
    {
      variant: "all volatile lost",
      undone: new Set(volatile),
      choices: new Map(dirty.map((ino) => [ino, "durable" as Choice])),
    },
    ...rest,
  ];
  for (const v of all) {
    yield {
      prefix,
      variant: v.variant,
      tree: materializeTree(replayNames(initial, effects, prefix, v.undone), model, v.choices),
    };
  }
}

function describe(e: Effect): string {
  switch (e.t) {
    case "link":
      return `${e.kind === "dir" ? "mkdir" : "create"} ${e.path}`;
    case "unlink":
      return `remove ${e.path}`;
    case "move":
      return `rename ${e.from} -> ${e.to}`;
    default:
      return e.t;
  }
}

export interface GenerateOptions {
  /** Stop after this many distinct states (taken round-robin over the prefixes). */
  readonly maxStates: number;
  /** Random combinations per prefix (default 4). */
  readonly randomPerPrefix?: number;
}

/**
 * Distinct crash states of a recorded run, taken round-robin over all prefixes (0..effects.length),
 * visited in a spread order, so that a bound still samples crash points across the whole trace. Returns them with the number of candidates generated.
 */
export function crashStates(
  initial: readonly InitialEntry[],
  effects: readonly Effect[],
  options: GenerateOptions,
): { states: CrashState[]; candidates: number; prefixes: number } {
  const generators: Generator<CrashState>[] = [];
  const model = new Prefix(initial);
  for (let prefix = 0; prefix <= effects.length; prefix++) {
    if (prefix > 0) model.advance(effects[prefix - 1]!, prefix - 1, effects);
    // Each prefix's model is frozen into its generator: a copy of the state it needs.
    const frozen = Object.assign(Object.create(Prefix.prototype) as Prefix, {
      current: new Map(model.current),
      durable: new Map(model.durable),
      volatile: new Set(model.volatile),
    });
    generators.push(variantsAt(initial, effects, prefix, frozen, options.randomPerPrefix ?? 4));
  }
  const seen = new Set<string>();
  const states: CrashState[] = [];
  let candidates = 0;
  // Prefixes in a low-discrepancy order (golden-ratio steps), so that any bound spreads over the trace.
  const spread = (p: number): number => (p * 0.6180339887498949) % 1;
  let active = generators
    .map((g, p) => [g, p] as const)
    .sort(([, a], [, b]) => spread(a) - spread(b))
    .map(([g]) => g);
  while (active.length > 0 && states.length < options.maxStates) {
    const next: Generator<CrashState>[] = [];
    for (const g of active) {
      // Take this prefix's next state that is new.
      for (let r = g.next(); !r.done; r = g.next()) {
        candidates++;
        const key = fingerprint(r.value.tree);
        if (seen.has(key)) continue;
        seen.add(key);
        states.push(r.value);
        next.push(g);
        break;
      }
      if (states.length >= options.maxStates) break;
    }
    active = next;
  }
  return { states, candidates, prefixes: effects.length + 1 };
}

/** Writes a crash state into an empty directory `root`. */
export async function materialize(root: string, tree: ReadonlyMap<string, FileState>): Promise<void> {
  await mkdir(root, { recursive: true });
  for (const path of [...tree.keys()].sort()) {
    const s = tree.get(path)!;
    const native = join(root, ...path.split("/"));
    if (s.kind === "dir") await mkdir(native, { recursive: true });
    else {
      await writeFile(native, Buffer.concat(s.parts));
      await chmod(native, s.exec ? 0o755 : 0o644);
    }
  }
}
