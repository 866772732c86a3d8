import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";

const cli = join(import.meta.dirname, "..", "..", "src", "cli", "main.js");
const exec = promisify(execFile);

/** Runs the built `ferry` CLI in a child process; never throws on a non-zero exit. */
export async function ferry(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [cli, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
