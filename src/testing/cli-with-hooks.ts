/**
 * The CLI with kill points, for child-process crash tests (test/kill-harness.ts spawns this file instead
 * of src/cli/main.ts). FERRY_TEST_KILL_AT / FERRY_TEST_TRACE are read here only: the shipped `ferry` bin
 * never looks at them and never loads src/testing/.
 */
import { resolve } from "node:path";
import { runCli } from "../cli/run.js";
import { NodeFileSystem } from "../node/node-fs.js";
import { killPointsFromEnvironment } from "./kill-points.js";

runCli(process.argv.slice(2), async (installDir, onEvent) => {
  const points = killPointsFromEnvironment(process.env, resolve(installDir));
  if (points === undefined) return { onEvent };
  return {
    fs: points.fs(new NodeFileSystem()),
    onEvent: (event) => {
      points.onEvent(event);
      onEvent(event);
    },
  };
});
