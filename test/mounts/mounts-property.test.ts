import "../../src/register-node.js";
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import { FerryError } from "../../src/core/errors.js";
import { Mounts } from "../../src/mounts/mounts.js";
import { MountStack } from "../../src/mounts/stack.js";
import { buildZip } from "../../src/testing/zip-writer.js";
import { tempDir } from "../helpers/helpers.js";

/**
 * Mount priority resolution against a simple model: a list of (name, priority, files); a path is served
 * by the highest-priority mount that has it; a taken name or priority is E_MOUNT_CONFLICT; removing an
 * unknown name is E_NOT_FOUND.
 */
const NAMES = ["base", "dlc1", "dlc2", "patch", "mod"];
const PATHS = ["a.txt", "b/c.png", "b/d.json", "e"];

type Op =
  | { kind: "add"; name: string; priority: number; files: string[] }
  | { kind: "remove"; name: string }
  | { kind: "resolve"; path: string };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant("add" as const),
    name: fc.constantFrom(...NAMES),
    priority: fc.integer({ min: -3, max: 3 }),
    files: fc.subarray(PATHS),
  }),
  fc.record({ kind: fc.constant("remove" as const), name: fc.constantFrom(...NAMES) }),
  fc.record({ kind: fc.constant("resolve" as const), path: fc.constantFrom(...PATHS) }),
);

interface ModelMount {
  name: string;
  priority: number;
  files: string[];
}

function modelResolve(model: readonly ModelMount[], path: string): string | undefined {
  let best: ModelMount | undefined;
  for (const m of model)
    if (m.files.includes(path) && (best === undefined || m.priority > best.priority)) best = m;
  return best?.name;
}

function conflict(model: readonly ModelMount[], name: string, priority: number): boolean {
  return model.some((m) => m.name === name || m.priority === priority);
}

function codeOf(error: unknown): string {
  assert.ok(error instanceof FerryError, String(error));
  return error.code;
}

test("mount stack: resolution over random stacks matches the model (property)", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
      const stack = new MountStack<Set<string>>();
      const model: ModelMount[] = [];
      for (const o of ops) {
        if (o.kind === "add") {
          const expectConflict = conflict(model, o.name, o.priority);
          try {
            stack.add(o.name, o.priority, new Set(o.files));
            assert.ok(!expectConflict, `add ${o.name}@${o.priority} should conflict`);
            model.push({ name: o.name, priority: o.priority, files: o.files });
          } catch (error) {
            assert.ok(expectConflict, String(error));
            assert.equal(codeOf(error), "E_MOUNT_CONFLICT");
          }
        } else if (o.kind === "remove") {
          const index = model.findIndex((m) => m.name === o.name);
          try {
            stack.remove(o.name);
            assert.ok(index >= 0);
            model.splice(index, 1);
          } catch (error) {
            assert.equal(index, -1);
            assert.equal(codeOf(error), "E_NOT_FOUND");
          }
        } else {
          const found = await stack.find((files) => Promise.resolve(files.has(o.path) ? true : undefined));
          assert.equal(found?.mount.name, modelResolve(model, o.path));
        }
        assert.deepEqual(
          stack.list().map((m) => m.priority),
          model.map((m) => m.priority).sort((a, b) => b - a),
        );
      }
    }),
    { numRuns: 300 },
  );
});

const RUNS = Number(process.env.FERRY_MOUNT_PROPERTY_RUNS ?? 25);

test("Mounts over real directories and zip archives: resolve/readFile match the model (property)", async (t) => {
  const root = await tempDir(t);
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          name: fc.constantFrom(...NAMES),
          priority: fc.integer({ min: -3, max: 3 }),
          zip: fc.boolean(),
          files: fc.subarray(PATHS),
        }),
        { maxLength: 5 },
      ),
      fc.array(fc.constantFrom(...NAMES), { maxLength: 2 }),
      async (adds, removals) => {
        const dir = join(root, String(run++));
        await mkdir(dir);
        const mounts = await Mounts.open({ runtime: "test" });
        const model: ModelMount[] = [];
        for (const [i, a] of adds.entries()) {
          const content = (path: string) => new TextEncoder().encode(`${a.name}:${path}`);
          let uri = join(dir, `layer${i}`);
          if (a.zip) {
            uri += ".zip";
            await writeFile(
              uri,
              buildZip(a.files.map((path) => ({ name: path, data: content(path), method: 8 }))),
            );
          } else
            for (const path of a.files) {
              await mkdir(join(uri, ...path.split("/").slice(0, -1)), { recursive: true });
              await writeFile(join(uri, ...path.split("/")), content(path));
            }
          if (!a.zip) await mkdir(uri, { recursive: true });
          const expectConflict = conflict(model, a.name, a.priority);
          try {
            await mounts.addMount(a.name, uri, a.priority);
            assert.ok(!expectConflict);
            model.push(a);
          } catch (error) {
            assert.ok(expectConflict, String(error));
            assert.equal(codeOf(error), "E_MOUNT_CONFLICT");
          }
        }
        for (const name of removals) {
          const index = model.findIndex((m) => m.name === name);
          if (index < 0) continue;
          await mounts.removeMount(name);
          model.splice(index, 1);
        }
        for (const path of PATHS) {
          const expected = modelResolve(model, path);
          const resolution = await mounts.resolve(path);
          assert.equal(resolution?.name, expected, path);
          if (expected === undefined) continue;
          assert.equal(new TextDecoder().decode(await mounts.readFile(path)), `${expected}:${path}`);
        }
      },
    ),
    { numRuns: RUNS },
  );
});
