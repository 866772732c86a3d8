/**
 * A table-driven fuzz harness for parsers of untrusted input (docs/SECURITY.md "Fuzzing").
 * Property for every input: the parser returns, or throws a FerryError; never another exception, and
 * each call finishes within MAX_MS_PER_INPUT. Adding a parser = adding one FuzzTarget to the table.
 */
import fc from "fast-check";
import { FerryError } from "../../src/core/errors.js";

export const MAX_MS_PER_INPUT = 1000;

export interface FuzzTarget<T> {
  readonly name: string;
  /** Random and structure-aware inputs (see `bytesOrMutations`). */
  readonly input: fc.Arbitrary<T>;
  /** Calls the parser under test (a promise is awaited: streaming decoders are async). */
  readonly run: (input: T) => unknown;
  /** Relative share of the run budget. */
  readonly weight: number;
  /** False for parsers that report bad input by returning undefined instead of throwing. */
  readonly throws?: boolean;
}

export interface FuzzReport {
  readonly name: string;
  readonly runs: number;
  readonly ok: number;
  readonly codes: Readonly<Record<string, number>>;
  readonly maxMs: number;
  readonly totalMs: number;
}

/** Runs one target `runs` times; throws (with fast-check's shrunk counterexample) on a violation. */
export async function fuzz<T>(target: FuzzTarget<T>, runs: number, seed: number): Promise<FuzzReport> {
  const codes: Record<string, number> = {};
  let ok = 0;
  let maxMs = 0;
  let totalMs = 0;
  await fc.assert(
    fc.asyncProperty(target.input, async (input) => {
      const start = performance.now();
      let error: unknown;
      let threw = false;
      try {
        await target.run(input);
      } catch (e) {
        threw = true;
        error = e;
      }
      const ms = performance.now() - start;
      maxMs = Math.max(maxMs, ms);
      totalMs += ms;
      if (threw && !(error instanceof FerryError)) {
        throw new Error(`${target.name} threw a non-FerryError: ${String(error)}`, { cause: error });
      }
      if (ms > MAX_MS_PER_INPUT) throw new Error(`${target.name} took ${ms.toFixed(0)} ms on one input`);
      if (threw) {
        const code = (error as FerryError).code;
        codes[code] = (codes[code] ?? 0) + 1;
      } else ok++;
    }),
    { numRuns: runs, seed, endOnFailure: true },
  );
  return { name: target.name, runs, ok, codes, maxMs, totalMs };
}

// ---------------------------------------------------------------------------------------------------
// Structure-aware mutations

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Keys that change behaviour when a parser does `obj[key]` or merges objects carelessly. */
export const PROTOTYPE_KEYS = [
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "valueOf",
];

const hostileScalar: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    null,
    true,
    false,
    0,
    -0,
    -1,
    1.5,
    2 ** 53,
    2 ** 53 + 2,
    -(2 ** 63),
    1e308,
    Number.MAX_SAFE_INTEGER,
    "",
    "0",
    "br",
    "raw",
    "a".repeat(100_000),
    "\u0000",
    "\ud800",
    "../x",
    [],
    {},
  ),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.jsonValue({ maxDepth: 3 }),
);

type Json = unknown;

/** Paths (lists of keys/indices) into a JSON value down to depth 6, the root included. */
function paths(
  value: Json,
  prefix: (string | number)[] = [],
  out: (string | number)[][] = [],
): (string | number)[][] {
  out.push(prefix);
  if (prefix.length >= 6) return out; // mutations of deep nests need not reach inside them
  if (Array.isArray(value)) value.slice(0, 16).forEach((v, i) => paths(v, [...prefix, i], out));
  else if (value !== null && typeof value === "object")
    for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  return out;
}

function setAt(
  root: Json,
  path: readonly (string | number)[],
  update: (old: Json) => Json | undefined,
): Json {
  if (path.length === 0) return update(root);
  const [head, ...rest] = path;
  if (Array.isArray(root)) {
    const copy = [...root];
    const next = setAt(copy[head as number], rest, update);
    if (next === undefined && rest.length === 0) copy.splice(head as number, 1);
    else copy[head as number] = next;
    return copy;
  }
  const copy: Record<string, Json> = {};
  for (const [k, v] of Object.entries(root as Record<string, Json>)) copy[k] = v;
  const next = setAt(copy[head as string], rest, update);
  if (next === undefined && rest.length === 0) delete copy[head as string];
  else
    Object.defineProperty(copy, head as string, {
      value: next,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return copy;
}

type ValueMutation = (old: Json) => Json | undefined;

const valueMutation: fc.Arbitrary<ValueMutation> = fc.oneof(
  hostileScalar.map(
    (v): ValueMutation =>
      () =>
        v,
  ),
  fc.constant<ValueMutation>(() => undefined), // delete
  // Deeper nests are made textually (mutateBytes "deep"): JSON.stringify recurses, and three stacked
  // mutations must stay encodable.
  fc.integer({ min: 10, max: 1000 }).map((depth): ValueMutation => (old) => {
    let v: Json = old;
    for (let i = 0; i < depth; i++) v = [v];
    return v;
  }),
  fc.tuple(fc.constantFrom(...PROTOTYPE_KEYS), hostileScalar).map(([key, v]): ValueMutation => (old) => {
    if (old === null || typeof old !== "object" || Array.isArray(old)) return old;
    const copy: Record<string, Json> = { ...(old as Record<string, Json>) };
    Object.defineProperty(copy, key, { value: v, enumerable: true, writable: true, configurable: true });
    return copy;
  }),
  fc.constant<ValueMutation>((old) => (Array.isArray(old) ? [...old, ...old] : old)), // duplicated entries
  fc.constant<ValueMutation>((old) =>
    typeof old === "number" ? old + 1 : typeof old === "string" ? old + "x" : old,
  ),
);

/** 1-3 value-level mutations at random places in `valid`. */
export function mutateJson(valid: Json): fc.Arbitrary<Json> {
  const all = paths(valid);
  const step = fc.tuple(fc.nat(all.length - 1), valueMutation);
  return fc.array(step, { minLength: 1, maxLength: 3 }).map((steps) => {
    let v = valid;
    for (const [index, mutation] of steps) {
      const candidates = paths(v);
      v = setAt(v, candidates[index % candidates.length]!, mutation) ?? null;
    }
    return v;
  });
}

/** Byte-level mutations of a document: flips, inserts, deletes, truncation, duplicated keys. */
export function mutateBytes(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  const edit = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.tuple(fc.constant("flip" as const), fc.nat(), fc.integer({ min: 1, max: 255 })),
    },
    {
      weight: 3,
      arbitrary: fc.tuple(
        fc.constant("insert" as const),
        fc.nat(),
        fc.uint8Array({ minLength: 1, maxLength: 8 }),
      ),
    },
    {
      weight: 3,
      arbitrary: fc.tuple(fc.constant("delete" as const), fc.nat(), fc.integer({ min: 1, max: 16 })),
    },
    { weight: 1, arbitrary: fc.tuple(fc.constant("truncate" as const), fc.nat()) },
    { weight: 2, arbitrary: fc.tuple(fc.constant("duplicate-key" as const), fc.nat()) },
    // Rare and large: up to 100,000 levels of nesting, which JSON.parse handles without recursion.
    {
      weight: 1,
      arbitrary: fc.tuple(fc.constant("deep" as const), fc.nat(), fc.integer({ min: 100, max: 100_000 })),
    },
  );
  return fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => {
    let bytes = Buffer.from(valid);
    for (const e of edits) {
      const at = bytes.length === 0 ? 0 : e[1] % bytes.length;
      if (e[0] === "flip") bytes[at] = bytes[at]! ^ e[2];
      else if (e[0] === "insert") bytes = Buffer.concat([bytes.subarray(0, at), e[2], bytes.subarray(at)]);
      else if (e[0] === "delete") bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + e[2])]);
      else if (e[0] === "truncate") bytes = bytes.subarray(0, at);
      else if (e[0] === "deep") {
        // After the first '{' at or after `at`: a new key holding e[2] nested arrays (valid JSON).
        const brace = bytes.indexOf(0x7b, at) >= 0 ? bytes.indexOf(0x7b, at) : bytes.indexOf(0x7b);
        if (brace >= 0) {
          const nest = `"deep":${"[".repeat(e[2])}1${"]".repeat(e[2])},`;
          bytes = Buffer.concat([bytes.subarray(0, brace + 1), Buffer.from(nest), bytes.subarray(brace + 1)]);
        }
      } else {
        // Repeat the `"key":` found at or after `at` with another value: JSON.parse keeps the last one.
        const s = bytes.toString("latin1");
        const m = /"([^"\\]{1,40})":/g;
        m.lastIndex = at;
        const hit = m.exec(s) ?? /"([^"\\]{1,40})":/.exec(s);
        if (hit)
          bytes = Buffer.from(s.slice(0, hit.index) + `"${hit[1]}":"dup",` + s.slice(hit.index), "latin1");
      }
    }
    return bytes;
  });
}

/** Random bytes, random JSON text, byte mutations and value mutations of one valid document. */
export function bytesOrMutations(
  valid: Json,
  encode: (v: Json) => Uint8Array = (v) => text(JSON.stringify(v)),
): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => text(JSON.stringify(v))) },
    { weight: 3, arbitrary: mutateBytes(encode(valid)) },
    { weight: 4, arbitrary: mutateJson(valid).map((v) => safeEncode(v, encode)) },
  );
}

function safeEncode(v: Json, encode: (v: Json) => Uint8Array): Uint8Array {
  try {
    return encode(v);
  } catch {
    return text("null"); // a value JSON cannot hold (a very deep nest beyond JSON.stringify's stack)
  }
}
