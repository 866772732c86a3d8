/**
 * Preloaded into the CLI (`node --import <this> main.js ...`) by test/cli/cli-errors.test.ts: every
 * operation's file system throws a plain TypeError, standing for a bug (not a FerryError).
 */
import { setOperationHooks } from "../../src/cli/operation-hooks.js";
import { NodeFileSystem } from "../../src/node/node-fs.js";

setOperationHooks((_installDir, onEvent) => ({
  onEvent,
  fs: new Proxy(new NodeFileSystem(), {
    get() {
      return () => {
        throw new TypeError("a bug in a file system adapter");
      };
    },
  }),
}));
