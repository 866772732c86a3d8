/**
 * Metadata of an update, with and without metadata bundles (docs/FORMAT.md §5.4), same run: for each
 * pair, publish the old build, install it, publish the new one, update over loopback HTTP, then a
 * no-change check; once with metadataHistory 0 (every changed object fetched on its own) and once with
 * the default 3. Prints the update's metadata bytes and requests, the pointer's and header's bytes and
 * the bundle's, as JSON lines. Pairs: OpenRCT2 objects v1.7.9 → v1.7.10 and Shattered Pixel Dungeon
 * v3.0.0 → v3.2.5 from ../shared/corpus, and a generated 5,000-file game with a 200-file bugfix in 20 directories.
 * Run from the worktree: npm run build && node dist/bench/metadata-bench.js [pair-name…]
 */
import "../src/register-node.js";
import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { check, update } from "../src/client/ops/update.js";
import { generateKeyPair, parsePrivateKey, parsePublicKey } from "../src/node/node-keys.js";
import { publish } from "../src/publisher/publish.js";
import { serveRepository } from "../src/server/static-server.js";

const corpus = resolve(process.cwd(), "../shared/corpus");
const tmp = await mkdtemp(join(tmpdir(), "ferry-metadata-bench-"));

/** A generated game: 100 directories of 50 small text files; the bugfix edits 10 files in each of 20 of them. */
async function generated(dir: string, fixed: boolean): Promise<string> {
  for (let d = 0; d < 100; d++)
    for (let f = 0; f < 50; f++) {
      const path = join(dir, `data/group-${d % 10}/set-${d}/item-${f}.json`);
      await mkdir(dirname(path), { recursive: true });
      const edit = fixed && d % 5 === 0 && f < 10 ? `,"fix":${d * 100 + f}` : "";
      await writeFile(path, `{"set":${d},"item":${f},"name":"item ${d}-${f}"${edit}}\n`.repeat(20));
    }
  return dir;
}

const pairs: Record<string, () => Promise<[string, string, string, string]>> = {
  "openrct2-objects": async () => [
    join(corpus, "openrct2-objects/v1.7.9"),
    join(corpus, "openrct2-objects/v1.7.10"),
    "1.7.9",
    "1.7.10",
  ],
  "shattered-pixel-dungeon": async () => [
    join(corpus, "shattered-pixel-dungeon/v3.0.0"),
    join(corpus, "shattered-pixel-dungeon/v3.2.5"),
    "3.0.0",
    "3.2.5",
  ],
  generated: async () => [
    await generated(join(tmp, "gen-1"), false),
    await generated(join(tmp, "gen-2"), true),
    "1.0.0",
    "1.0.1",
  ],
};

const { privatePem, publicText } = generateKeyPair();
const key = parsePrivateKey(privatePem, "bench key");
const pub = parsePublicKey(publicText, "bench pub");
const server = await serveRepository({ root: tmp });
const chosen = process.argv.slice(2);
try {
  for (const [pair, make] of Object.entries(pairs)) {
    if (chosen.length > 0 && !chosen.includes(pair)) continue;
    const [oldDir, newDir, oldVersion, newVersion] = await make();
    for (const layout of ["tree", "auto"] as const) {
      for (const metadataHistory of [0, 3]) {
        const name = `${pair}-${layout}-${metadataHistory}`;
        const repo = join(tmp, name);
        const repoUrl = `${server.url}${name}/`;
        const installDir = join(tmp, `install-${name}`);
        const base = { repo, key, layout, metadataHistory, expiresInDays: 30 };
        await publish({ ...base, buildDir: oldDir, version: oldVersion });
        await update({ repoUrl, installDir, trust: [pub] });
        const published = await publish({ ...base, buildDir: newDir, version: newVersion });
        const updated = await update({ repoUrl, installDir, trust: [pub] });
        const checked = await check({ repoUrl, installDir, trust: [pub] });
        const pointerBytes = (await stat(join(repo, "channels/stable.json"))).size;
        console.log(
          JSON.stringify({
            pair,
            layout: published.layout,
            metadataHistory,
            files: published.files,
            pointerBytes,
            headerBytes: published.manifestBytes,
            bundles: published.metadataBundles,
            bundleBytes: published.metadataBundleBytes,
            updateMetadataBytes: updated.metadataBytes,
            updateRequests: updated.requests,
            payloadBytes: updated.bytesDownloaded - updated.metadataBytes,
            filesWritten: updated.filesWritten,
            checkMetadataBytes: checked.metadataBytes,
          }),
        );
      }
    }
  }
} finally {
  await server.close();
  await rm(tmp, { recursive: true, force: true });
}
