/**
 * Deltas on the real corpus, same run: publish v3.0.0, install it, publish v3.2.5, update; once with
 * deltaHistory 0 and with the default (3), and with each manifest layout (inline, tree). Prints publish
 * times, the first install's and the update's bytes downloaded (metadata separately), and a no-change check.
 * Run from the worktree: npm run build && node dist/bench/delta-bench.js [old-dir new-dir]
 */
import "../src/register-node.js";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { check, update } from "../src/client/ops/update.js";
import { generateKeyPair, parsePrivateKey, parsePublicKey } from "../src/node/node-keys.js";
import { publish } from "../src/publisher/publish.js";
import { serveRepository } from "../src/server/static-server.js";

const corpus = resolve(process.cwd(), "../shared/corpus/shattered-pixel-dungeon");
const [v1 = join(corpus, "v3.0.0"), v2 = join(corpus, "v3.2.5")] = process.argv.slice(2);
const { privatePem, publicText } = generateKeyPair();
const key = parsePrivateKey(privatePem, "bench key");
const pub = parsePublicKey(publicText, "bench pub");
const tmp = await mkdtemp(join(tmpdir(), "ferry-delta-bench-"));
const server = await serveRepository({ root: tmp });
try {
  const runs = [
    { deltaHistory: 0, layout: "tree" },
    { deltaHistory: 3, layout: "inline" },
    { deltaHistory: 3, layout: "tree" },
  ] as const;
  for (const { deltaHistory, layout } of runs) {
    const name = `repo-${deltaHistory}-${layout}`;
    const repo = join(tmp, name);
    const repoUrl = `${server.url}${name}/`;
    const installDir = join(tmp, `install-${deltaHistory}-${layout}`);
    const base = { repo, key, deltaHistory, layout, expiresInDays: 30 };
    await publish({ ...base, buildDir: v1, version: "3.0.0" });
    const installed = await update({ repoUrl, installDir, trust: [pub] });
    const started = performance.now();
    const published = await publish({ ...base, buildDir: v2, version: "3.2.5" });
    const publishSeconds = (performance.now() - started) / 1000;
    const updated = await update({ repoUrl, installDir, trust: [pub] });
    const checked = await check({ repoUrl, installDir, trust: [pub] });
    console.log(
      JSON.stringify({
        deltaHistory,
        layout,
        installBytes: installed.bytesDownloaded,
        installMetadataBytes: installed.metadataBytes,
        installRequests: installed.requests,
        publishSeconds: Number(publishSeconds.toFixed(2)),
        deltas: published.deltas,
        newDeltaBytes: published.newDeltaBytes,
        manifestBytes: published.manifestBytes,
        bytesDownloaded: updated.bytesDownloaded,
        metadataBytes: updated.metadataBytes,
        requests: updated.requests,
        deltasApplied: updated.deltasApplied,
        filesWritten: updated.filesWritten,
        updateSeconds: Number((updated.durationMs / 1000).toFixed(2)),
        checkMetadataBytes: checked.metadataBytes,
      }),
    );
  }
} finally {
  await server.close();
  await rm(tmp, { recursive: true, force: true });
}
