import { FerryError } from "../core/errors.js";
import type { FileSystem } from "../ports/fs.js";

/** Mutating operations a crash can interrupt. */
const MUTATING = new Set([
  "createWriter",
  "writeFile",
  "writeFileAtomic",
  "createExclusive",
  "rename",
  "unlink",
  "mkdirp",
  "rmdirIfEmpty",
  "removeTree",
  "chmod",
  "fsyncDir",
]);

/**
 * Wraps a FileSystem and fails the `failAt`-th mutating operation (1-based) as a crash would stop it:
 * that operation and everything after it never happen. Records the operation trace.
 */
export function faultyFileSystem(
  inner: FileSystem,
  failAt: number,
): { fs: FileSystem; trace: string[]; crashed: () => boolean } {
  const trace: string[] = [];
  let count = 0;
  let crashed = false;
  const fs = new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== "function") return value;
      const name = String(property);
      return (...args: unknown[]) => {
        if (MUTATING.has(name)) {
          if (crashed) throw new FerryError("E_IO", `simulated crash: ${name} after the crash point`);
          count++;
          trace.push(`${name} ${String(args[0])}`);
          if (count === failAt) {
            crashed = true;
            throw new FerryError("E_IO", `simulated crash at operation ${count}: ${name} ${String(args[0])}`);
          }
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { fs, trace, crashed: () => crashed };
}
