/**
 * A throwaway single-node Ceph cluster with a RADOS Gateway on 127.0.0.1, for tests of the S3 path
 * against an S3 implementation that honours conditional writes (s3rver does not). One mon, one memstore
 * OSD, pools of size 1, no cephx (loopback only), in a temp dir; close() stops the daemons and removes it.
 * Debian packages: radosgw ceph-mon ceph-osd ceph-common (.ci/run installs them).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const exec = promisify(execFile);
const BINARIES = ["ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "monmaptool", "ceph"];

export function cephAvailable(): boolean {
  const dirs = (process.env.PATH ?? "").split(":").concat(["/usr/bin", "/usr/sbin"]);
  return BINARIES.every((b) => dirs.some((d) => existsSync(join(d, b))));
}

export interface CephRgw {
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Milliseconds from the first daemon start to the gateway answering HTTP. */
  readonly startMs: number;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

export async function startCephRgw(): Promise<CephRgw> {
  const dir = await mkdtemp(join(tmpdir(), "ferry-ceph-"));
  const children: ChildProcess[] = [];
  const close = async () => {
    for (const child of children.reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const gone = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill("SIGKILL");
      await gone;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const [monPort, rgwPort] = [await freePort(), await freePort()];
    const fsid = randomUUID();
    for (const sub of ["mon", "osd", "run", "log"]) await mkdir(join(dir, sub));
    const conf = join(dir, "ceph.conf");
    await writeFile(
      conf,
      `[global]
fsid = ${fsid}
mon host = v2:127.0.0.1:${monPort}
mon initial members = a
public addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
ms client mode = crc
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
osd objectstore = memstore
memstore device bytes = 536870912
osd data = ${dir}/osd
mon data = ${dir}/mon
run dir = ${dir}/run
admin socket = ${dir}/run/$name.asok
log file = ${dir}/log/$name.log
keyring = ${dir}/keyring
ms bind ipv4 = true
ms bind ipv6 = false
`,
    );
    const c = ["-c", conf];
    const started = Date.now();
    await exec("monmaptool", [
      "--create",
      "--addv",
      "a",
      `[v2:127.0.0.1:${monPort}]`,
      "--fsid",
      fsid,
      join(dir, "monmap"),
    ]);
    await exec("ceph-mon", [...c, "--mkfs", "-i", "a", "--monmap", join(dir, "monmap")]);
    const daemon = (cmd: string, args: string[]) => {
      const child = spawn(cmd, [...c, ...args, "-f"], { stdio: "ignore" });
      children.push(child);
    };
    daemon("ceph-mon", ["-i", "a"]);
    await exec("ceph", [...c, "--connect-timeout", "30", "osd", "create"], { timeout: 60_000 });
    await exec("ceph-osd", [...c, "-i", "0", "--mkfs"], { timeout: 60_000 });
    daemon("ceph-osd", ["-i", "0"]);
    daemon("radosgw", ["-n", "client.admin", "--rgw-frontends", `beast endpoint=127.0.0.1:${rgwPort}`]);
    const endpoint = `http://127.0.0.1:${rgwPort}`;
    const deadline = Date.now() + 120_000;
    for (;;) {
      const ok = await fetch(endpoint, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.status < 500,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline)
        throw new Error(`radosgw did not answer on ${endpoint} within 120 s (logs: ${dir}/log)`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const startMs = Date.now() - started;
    const accessKeyId = "FERRYTESTKEY";
    const secretAccessKey = "ferry-test-secret";
    await exec(
      "radosgw-admin",
      [
        ...c,
        "-n",
        "client.admin",
        "user",
        "create",
        "--uid",
        "ferry",
        "--display-name",
        "ferry",
        "--access-key",
        accessKeyId,
        "--secret-key",
        secretAccessKey,
      ],
      { timeout: 60_000 },
    );
    return { endpoint, accessKeyId, secretAccessKey, startMs, close };
  } catch (error) {
    await close();
    throw error;
  }
}
