/**
 * Machine baselines for the peer benchmark: SHA-256 throughput of one thread over 256 MiB in memory, and
 * write + fsync throughput of a 256 MiB file in a temp directory. The update-time target is stated in these.
 */
import { createHash } from "node:crypto";
import { open, rm } from "node:fs/promises";
import { join } from "node:path";
import { prngBytes } from "./peers-fixtures.js";

export interface MachineBaselines {
  readonly sha256MiBps: number;
  readonly writeFsyncMiBps: number;
}

const MIB = 1024 * 1024;

export async function measureMachine(scratchDir: string, mib = 256): Promise<MachineBaselines> {
  const data = prngBytes("machine-baseline", mib * MIB);
  let start = performance.now();
  createHash("sha256").update(data).digest();
  const sha256MiBps = mib / ((performance.now() - start) / 1000);
  const path = join(scratchDir, "fsync-baseline.bin");
  start = performance.now();
  const handle = await open(path, "w");
  try {
    for (let offset = 0; offset < data.length; offset += 4 * MIB) await handle.write(data, offset, 4 * MIB);
    await handle.sync();
  } finally {
    await handle.close();
  }
  const writeFsyncMiBps = mib / ((performance.now() - start) / 1000);
  await rm(path);
  return { sha256MiBps, writeFsyncMiBps };
}
