/**
 * The measured steps both scale benchmarks share: publish v1, install, no-change check, change the build,
 * publish v2, update. Each library call runs in its own child process (bench/worker.ts) for its peak RSS;
 * bytes and requests are counted at the loopback server.
 */
import { generateKeyPair } from "../src/index.js";
import { serveCounting } from "./counting-server.js";
import { runWorker } from "./run-worker.js";

export interface ScaleDirs {
  readonly build: string;
  readonly repo: string;
  readonly install: string;
}

interface PublishOut {
  readonly layout: string;
  readonly metadataObjects: number;
  readonly newMetadataObjects: number;
  readonly chunks: number;
  readonly newChunks: number;
  readonly deltas: number;
}
interface UpdateOut {
  readonly metadataBytes: number;
  readonly filesWritten: number;
  readonly bytesReused: number;
}

export async function measureScaleSteps(
  dirs: ScaleDirs,
  change: () => Promise<void>,
  log: (message: string) => void,
) {
  const { privatePem, publicText } = generateKeyPair();
  const server = await serveCounting(dirs.repo);
  try {
    const publish = (version: string) =>
      runWorker<PublishOut>({ op: "publish", buildDir: dirs.build, repo: dirs.repo, version, privatePem });
    const client = <T>(op: "update" | "check") =>
      runWorker<T>({ op, repoUrl: server.url, installDir: dirs.install, publicText });
    log("publish v1");
    const p1 = await publish("1.0.0");
    log("install v1");
    server.take();
    const installed = await client<UpdateOut>("update");
    const installCounts = server.take();
    log("no-change check");
    const checked = await client<{ updateAvailable: boolean }>("check");
    const checkCounts = server.take();
    await change();
    log("publish v2");
    const p2 = await publish("2.0.0");
    log("update to v2");
    server.take();
    const updated = await client<UpdateOut>("update");
    const updateCounts = server.take();
    return {
      publishV1: {
        seconds: p1.seconds,
        rssMiB: p1.rssMiB,
        layout: p1.result.layout,
        chunks: p1.result.chunks,
        objects: p1.result.metadataObjects,
      },
      install: {
        seconds: installed.seconds,
        rssMiB: installed.rssMiB,
        ...installCounts,
        metadataBytes: installed.result.metadataBytes,
      },
      check: { rssMiB: checked.rssMiB, updateAvailable: checked.result.updateAvailable, ...checkCounts },
      publishV2: {
        seconds: p2.seconds,
        rssMiB: p2.rssMiB,
        newObjects: p2.result.newMetadataObjects,
        newChunks: p2.result.newChunks,
        deltas: p2.result.deltas,
      },
      update: {
        seconds: updated.seconds,
        rssMiB: updated.rssMiB,
        filesWritten: updated.result.filesWritten,
        bytesReused: updated.result.bytesReused,
        metadataBytes: updated.result.metadataBytes,
        ...updateCounts,
      },
    };
  } finally {
    await server.close();
  }
}
