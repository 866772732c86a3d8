import "../../src/register-node.js";
import { installedManifest } from "../helpers/installed-manifest.js";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmod, mkdir, readdir, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { verify } from "../../src/client/ops/inspect.js";
import { repair } from "../../src/client/ops/repair.js";
import { isFerryError } from "../../src/core/errors.js";
import type { ChunkRef } from "../../src/core/manifest.js";
import { startHostileProxy } from "../../src/testing/hostile-proxy.js";
import { expectedTree, keys, readTree, sortedEntries, v1InstallWithV2Published } from "../helpers/helpers.js";
import { seededRandom } from "../../src/testing/random.js";

const cli = join(import.meta.dirname, "..", "..", "src", "cli", "main.js");
const iterations = Number(process.env.FERRY_REPAIR_ITERATIONS ?? "50");

function runCli(args: string[]): Promise<{ code: number | null; stdout: string }> {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ["ignore", "pipe", "ignore"] });
  let stdout = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, stdout })));
}

test("repair restores the installed release (not the channel's latest), keeps and reports untracked files", async (t) => {
  const { template: install, server, pub, publicText } = await v1InstallWithV2Published(t);
  await writeFile(join(install, "messages", "de.properties"), "garbage");
  await rm(join(install, "sprites", "item_005.png"));
  await chmod(join(install, "bin", "launch.sh"), 0o644);
  await writeFile(join(install, "savegame.dat"), "player data");
  await mkdir(join(install, "mods"));
  await writeFile(join(install, "mods", "extra.lua"), "-- mod");

  const before = await verify({ installDir: install });
  assert.deepEqual(before.problems.map((p) => `${p.problem} ${p.path}`).sort(), [
    "changed messages/de.properties",
    "missing sprites/item_005.png",
    "mode bin/launch.sh",
  ]);
  const result = await repair({ repoUrl: server.url, installDir: install, trust: [pub] });
  assert.equal(result.version, "1.0.0");
  assert.equal(result.filesRepaired, 3);
  assert.deepEqual(result.untracked, ["mods/extra.lua", "savegame.dat"]);
  assert.deepEqual(result.problems.map((p) => p.path).sort(), before.problems.map((p) => p.path).sort());
  assert.equal(result.metadataBytes, 0, "the installed manifest copy was intact: no metadata download");
  const expected = expectedTree(1);
  expected.set("savegame.dat", (await readTree(install)).get("savegame.dat")!);
  expected.set("mods/extra.lua", (await readTree(install)).get("mods/extra.lua")!);
  assert.deepEqual(sortedEntries(await readTree(install)), sortedEntries(expected));
  assert.ok((await verify({ installDir: install })).ok);

  // The CLI: --json result line, a second repair finds nothing to do and downloads nothing.
  const cliRun = await runCli(["repair", server.url, install, "--trust", publicText.trim(), "--json"]);
  assert.equal(cliRun.code, 0);
  const last = JSON.parse(cliRun.stdout.trim().split("\n").at(-1)!) as Record<string, unknown>;
  assert.equal(last.type, "result");
  assert.equal(last.filesRepaired, 0);
  assert.equal(last.bytesDownloaded, 0);
  assert.deepEqual(last.untracked, ["mods/extra.lua", "savegame.dat"]);
});

test("repair re-fetches a lost manifest copy by its pinned hash; refuses a state not signed by --trust", async (t) => {
  const { template: install, server, pub } = await v1InstallWithV2Published(t);
  const manifests = join(install, ".ferry", "manifests");
  for (const name of await readdir(manifests)) await rm(join(manifests, name));
  await rm(join(install, "README.txt"));
  const result = await repair({ repoUrl: server.url, installDir: install, trust: [pub] });
  assert.ok(result.metadataBytes > 0);
  assert.equal(result.filesRepaired, 1);
  assert.deepEqual(sortedEntries(await readTree(install)), sortedEntries(expectedTree(1)));

  // A key this install was never trusted with: E_KEY (as for update). A state whose signed pointer was
  // edited (here: it names another manifest) fails its signature check: E_SIGNATURE.
  await assert.rejects(
    repair({ repoUrl: server.url, installDir: install, trust: [keys().pub] }),
    (e: unknown) => isFerryError(e, "E_KEY"),
  );
  const statePath = join(install, ".ferry", "state.json");
  const state = JSON.parse(await readFile(statePath, "utf8")) as {
    pointer: { signed: { manifest: { hash: string } } };
  };
  state.pointer.signed.manifest.hash = "0".repeat(64);
  await writeFile(statePath, JSON.stringify(state));
  await assert.rejects(repair({ repoUrl: server.url, installDir: install, trust: [pub] }), (e: unknown) =>
    isFerryError(e, "E_SIGNATURE"),
  );
  await assert.rejects(
    repair({ repoUrl: server.url, installDir: join(install, "nope"), trust: [pub] }),
    (e: unknown) => isFerryError(e, "E_NOT_INSTALLED"),
  );
});

type Kind = "bitflip" | "truncate" | "delete" | "directory" | "mode";
const KINDS: Kind[] = ["bitflip", "truncate", "delete", "directory", "mode"];

/**
 * Random corruptions of an installed v1 (v2 is the channel's latest): each trial damages 1-3 distinct
 * files, verify must name exactly those, repair must restore exactly v1, and the pack bytes the proxy
 * sent must stay within the affected chunks' stored bytes. Affected chunks: a bit flip damages the chunk
 * holding the flipped byte; a truncation at L damages every chunk reaching past L; a deleted file or one
 * replaced by a directory needs all its chunks; a wrong mode needs none. The bound sums each distinct
 * affected chunk's stored length once (a chunk intact elsewhere on disk only lowers the download).
 * Multi-range answers add framing: allowed 256 B per part (the fetcher's own multipart cap); trials with
 * odd numbers run in single-range mode, where no framing is allowed.
 */
test(`repair battery: ${iterations} random corruptions detected by verify, repaired within the affected chunks' bytes`, async (t) => {
  const { template: install, server, pub } = await v1InstallWithV2Published(t);
  const proxy = await startHostileProxy(server.url, {});
  t.after(() => proxy.close());
  const manifest = await installedManifest(install);
  const seed = Number(process.env.FERRY_REPAIR_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const v1 = JSON.stringify(sortedEntries(expectedTree(1)));
  const counts: Record<Kind, number> = { bitflip: 0, truncate: 0, delete: 0, directory: 0, mode: 0 };
  let maxBytes = 0;
  let maxBound = 0;
  let maxSlack = Number.POSITIVE_INFINITY;
  let totalBytes = 0;
  let totalBound = 0;

  for (let trial = 0; trial < iterations; trial++) {
    const damaged = new Map<string, Kind>();
    const affected = new Map<string, ChunkRef>();
    const howMany = 1 + Math.floor(random() * 3);
    while (damaged.size < howMany) {
      const file = pick(manifest.files);
      if (damaged.has(file.path)) continue;
      let kind = pick(KINDS);
      if (file.size === 0 && (kind === "bitflip" || kind === "truncate")) kind = "delete";
      const native = join(install, ...file.path.split("/"));
      if (kind === "bitflip") {
        const offset = Math.floor(random() * file.size);
        const bytes = await readFile(native);
        bytes[offset]! ^= 1 << Math.floor(random() * 8);
        await writeFile(native, bytes);
        const chunk = file.chunks.find(
          (c, i) => offsetOf(file.chunks, i) <= offset && offset < offsetOf(file.chunks, i) + c.size,
        )!;
        affected.set(chunk.hash, chunk);
      } else if (kind === "truncate") {
        const length = Math.floor(random() * file.size);
        await truncate(native, length);
        file.chunks.forEach((c, i) => {
          if (offsetOf(file.chunks, i) + c.size > length) affected.set(c.hash, c);
        });
      } else if (kind === "delete" || kind === "directory") {
        await rm(native);
        if (kind === "directory") await mkdir(native);
        for (const c of file.chunks) affected.set(c.hash, c);
      } else {
        const mode = (await stat(native)).mode & 0o777;
        await chmod(native, mode & 0o100 ? 0o644 : 0o755);
      }
      damaged.set(file.path, kind);
      counts[kind]++;
    }
    const label = `trial ${trial} (seed ${seed}): ${[...damaged].map(([p, k]) => `${k} ${p}`).join(", ")}`;

    const found = await verify({ installDir: install });
    assert.deepEqual(found.problems.map((p) => p.path).sort(), [...damaged.keys()].sort(), label);

    const single = trial % 2 === 1;
    const sentBefore = proxy.stats.bytesSent;
    const requestsBefore = proxy.stats.requests;
    const result = await repair({
      repoUrl: proxy.url,
      installDir: install,
      trust: [pub],
      ...(single ? { rangeMode: "single" as const } : {}),
    });
    const sent = proxy.stats.bytesSent - sentBefore;
    const paths = proxy.stats.paths.slice(requestsBefore);
    assert.ok(
      paths.every((p) => p.startsWith("/packs/")),
      `${label}: only pack requests (${paths.join(" ")})`,
    );
    const payload = [...affected.values()].reduce((s, c) => s + c.length, 0);
    const bound = payload + (single ? 0 : 256 * (affected.size + 1));
    assert.ok(
      sent <= bound,
      `${label}: sent ${sent} B > bound ${bound} B; ranges ${proxy.stats.rangeHeaders.slice(requestsBefore).join(" ")}; affected ${[...affected.values()].map((c) => `${c.offset}+${c.length}`).join(" ")}`,
    );
    assert.equal(result.filesRepaired, damaged.size, label);
    // Content and executable bit of every file, untracked files included: exactly v1.
    assert.equal(JSON.stringify(sortedEntries(await readTree(install))), v1, label);
    maxBytes = Math.max(maxBytes, sent);
    maxBound = Math.max(maxBound, bound);
    maxSlack = Math.min(maxSlack, bound - sent);
    totalBytes += sent;
    totalBound += payload;
  }
  t.diagnostic(
    `seed ${seed}; corruptions ${JSON.stringify(counts)}; all detected and repaired; ` +
      `max bytes per repair ${maxBytes} B (max bound ${maxBound} B, min slack ${maxSlack} B); ` +
      `total sent ${totalBytes} B vs affected chunks ${totalBound} B`,
  );
});

function offsetOf(chunks: readonly ChunkRef[], index: number): number {
  let offset = 0;
  for (let i = 0; i < index; i++) offset += chunks[i]!.size;
  return offset;
}
