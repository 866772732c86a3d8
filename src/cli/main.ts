#!/usr/bin/env node
// The `ferry` bin: the command line with no test hooks (src/cli/run.ts).
import { runCli } from "./run.js";

runCli(process.argv.slice(2));
