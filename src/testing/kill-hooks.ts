/**
 * Preloaded into the CLI by child-process kill tests (`node --import <this> main.js ...`, see
 * test/client/kill-harness.ts): when FERRY_TEST_KILL_AT or FERRY_TEST_TRACE is set, wraps each operation's file
 * system and event sink with the kill points of kill-points.ts.
 */
import { resolve } from "node:path";
import { setOperationHooks } from "../cli/operation-hooks.js";
import { NodeFileSystem } from "../node/node-fs.js";
import { killPointsFromEnvironment } from "./kill-points.js";

if (process.env.FERRY_TEST_KILL_AT || process.env.FERRY_TEST_TRACE) {
  setOperationHooks((installDir, onEvent) => {
    const points = killPointsFromEnvironment(process.env, resolve(installDir))!;
    return {
      fs: points.fs(new NodeFileSystem()),
      onEvent: (event) => {
        points.onEvent(event);
        onEvent(event);
      },
    };
  });
}
