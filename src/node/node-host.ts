import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { resolve } from "node:path";
import type { Host } from "../ports/host.js";

/** The host port on Node: this process, its host, node:path's resolve against the working directory. */
export const nodeHost: Host = {
  randomId: (bytes) => randomBytes(bytes).toString("hex"),
  pid: process.pid,
  hostname: () => hostname(),
  processAlive(pid) {
    try {
      process.kill(pid, 0);
      return true;
    } catch (error) {
      // EPERM: it exists but belongs to another user.
      return (error as { code?: string }).code === "EPERM";
    }
  },
  absolutePath: (path) => resolve(path),
};
