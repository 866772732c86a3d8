import "../../src/register-node.js";
import assert from "node:assert/strict";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { Mounts } from "../../src/mounts/mounts.js";
import { mountsFilePath } from "../../src/mounts/persist.js";
import { buildZip } from "../../src/testing/zip-writer.js";
import { ferry } from "../helpers/cli.js";
import { tempDir } from "../helpers/helpers.js";
import { repoFixture } from "../helpers/served-repo.js";

const enc = (text: string) => new TextEncoder().encode(text);
const dec = (data: Uint8Array) => new TextDecoder().decode(data);
type T = Parameters<typeof tempDir>[0];

/** A served repository with 1.0.0 of a one-file game; `publishVersion` publishes another (a.txt holds `text`). */
async function served(t: T) {
  const fixture = await repoFixture(t);
  const publishVersion = (version: string, text: string) =>
    fixture.publish(
      { "a.txt": text },
      { build: `build-${version}`, version, expiresInDays: 30, rootExpiresInDays: 30 },
    );
  await publishVersion("1.0.0", "install v1");
  return { ...fixture, publishVersion };
}

type Kind = "directory" | "zip" | "ferry-install";
type Condition = "intact" | "changed" | "gone";
const KINDS: readonly Kind[] = ["directory", "zip", "ferry-install"];
const CONDITIONS: readonly Condition[] = ["intact", "changed", "gone"];

/** Every read the library offers: none may write the mounts file. */
const READS: readonly [string, (m: Mounts) => Promise<unknown>][] = [
  ["open", () => Promise.resolve()],
  ["getMounts", (m) => Promise.resolve(m.getMounts())],
  ["resolve (served)", (m) => m.resolve("a.txt")],
  ["resolve (unserved)", (m) => m.resolve("none/such.txt")],
  ["readFile", (m) => m.readFile("a.txt").catch(() => undefined)],
  ["stale, droppedHistory", (m) => Promise.resolve([m.stale, m.droppedHistory])],
];

test("mounts: reads never write the mounts file (read x runtime x mount kind x condition)", async (t) => {
  const repo = await served(t);
  const dir = repo.dir;
  const install = join(dir, "game");
  await repo.update(install);
  let cases = 0;
  let staleSeen = 0;
  for (const kind of KINDS)
    for (const condition of CONDITIONS) {
      const home = join(dir, `home-${kind}-${condition}`);
      const layer = join(dir, `layer-${kind}-${condition}`);
      if (kind === "directory") {
        await mkdir(layer);
        await writeFile(join(layer, "a.txt"), "dir");
      } else if (kind === "zip")
        await writeFile(layer, buildZip([{ name: "a.txt", data: enc("zip"), method: 8 }]));
      const uri = kind === "ferry-install" ? install : layer;
      const first = await Mounts.open({ runtime: "r1", installDir: home });
      await first.addMount("m", uri, 1);
      // A second, intact mount: a stale one beside it must not take it away either.
      await mkdir(join(home, "extra"), { recursive: true });
      await writeFile(join(home, "extra", "b.txt"), "b");
      await first.addMount("extra", join(home, "extra"), 2);
      if (condition === "changed") {
        if (kind === "directory") await writeFile(join(layer, "a.txt"), "dir, longer now");
        else if (kind === "zip") await writeFile(layer, buildZip([{ name: "a.txt", data: enc("other") }]));
        else {
          const state = JSON.parse(await readFile(join(install, ".ferry", "state.json"), "utf8")) as {
            repo: string;
          };
          // Another repository's install at the same path: not the install that was mounted.
          await writeFile(
            join(home, "state.json"),
            JSON.stringify({ ...state, repo: `${state.repo}other/` }),
          );
        }
      }
      const swapped = kind === "ferry-install" && condition !== "intact";
      const saved = swapped ? await readFile(join(install, ".ferry", "state.json")) : undefined;
      if (swapped && condition === "changed")
        await writeFile(join(install, ".ferry", "state.json"), await readFile(join(home, "state.json")));
      if (swapped && condition === "gone") await rm(join(install, ".ferry", "state.json"));
      if (condition === "gone" && kind !== "ferry-install") await rm(layer, { recursive: true });
      const before = await readFile(mountsFilePath(home));
      for (const runtime of ["r1", "r2"])
        for (const [name, read] of READS) {
          const mounts = await Mounts.open({ runtime, installDir: home });
          await read(mounts);
          const expectStale = runtime === "r2" ? 2 : condition === "intact" ? 0 : 1;
          assert.equal(mounts.stale.length, expectStale, `${kind} ${condition} ${runtime} ${name}: stale`);
          staleSeen += mounts.stale.length;
          assert.deepEqual(
            await readFile(mountsFilePath(home)),
            before,
            `${kind} ${condition} under ${runtime}: '${name}' changed the mounts file`,
          );
          cases++;
        }
      // An explicit prune does write: the check above could fail.
      if (condition !== "intact") {
        await (await Mounts.open({ runtime: "r1", installDir: home })).prune();
        assert.notDeepEqual(
          await readFile(mountsFilePath(home)),
          before,
          `${kind} ${condition}: prune wrote`,
        );
      }
      if (saved) await writeFile(join(install, ".ferry", "state.json"), saved);
    }
  assert.equal(cases, KINDS.length * CONDITIONS.length * 2 * READS.length);
  assert.ok(staleSeen > 0);
  t.diagnostic(`${cases} library reads, each leaving the mounts file byte-identical`);
});

test("mounts: CLI reads (resolve, mount list with and without --runtime) never write the mounts file", async (t) => {
  const dir = await tempDir(t);
  const game = join(dir, "game");
  await mkdir(join(dir, "mod"));
  await writeFile(join(dir, "mod", "x"), "x");
  await writeFile(join(dir, "dlc.zip"), buildZip([{ name: "y", data: enc("y"), method: 8 }]));
  for (const [name, uri, priority] of [
    ["mod", join(dir, "mod"), "1"],
    ["dlc", join(dir, "dlc.zip"), "2"],
  ] as const)
    assert.equal(
      (await ferry("mount", "add", game, name, uri, "--priority", priority, "--runtime", "1.0")).code,
      0,
    );
  await writeFile(join(dir, "dlc.zip"), buildZip([{ name: "y", data: enc("changed") }])); // dlc is stale now
  const before = await readFile(mountsFilePath(game));
  let cases = 0;
  for (const runtime of ["1.0", "2.0"])
    for (const args of [
      ["resolve", game, "x", "--runtime", runtime],
      ["resolve", game, "y", "--runtime", runtime],
      ["mount", "list", game, "--runtime", runtime, "--json"],
      ["mount", "list", game, "--runtime", runtime],
      ...(runtime === "1.0" ? [["mount", "list", game, "--json"]] : []),
    ]) {
      const r = await ferry(...args);
      assert.ok(r.code === 0 || r.code === 1, `${args.join(" ")}: ${r.stderr}`);
      assert.deepEqual(
        await readFile(mountsFilePath(game)),
        before,
        `${args.join(" ")} wrote the mounts file`,
      );
      cases++;
    }
  const served = JSON.parse(
    (await ferry("resolve", game, "x", "--runtime", "1.0", "--json")).stdout.split("\n").at(-2)!,
  ) as {
    name: string;
  };
  assert.equal(served.name, "mod");
  t.diagnostic(`${cases} CLI reads, each leaving the mounts file byte-identical`);
});

test("mounts: a mounted Ferry install follows its verified updates (persisted and live)", async (t) => {
  const repo = await served(t);
  const dir = repo.dir;
  const install = join(dir, "game");
  const home = join(dir, "home");
  await repo.update(install);
  const live = await Mounts.open({ runtime: "r", installDir: home });
  await live.addMount("base", install, 0);
  assert.equal(dec(await live.readFile("a.txt")), "install v1");
  const updates = Number(process.env["FERRY_MOUNT_UPDATES"] ?? "4");
  for (let i = 2; i <= updates + 1; i++) {
    const text = `install v${i}${"!".repeat(i)}`; // a new size each time: a stale record would be refused
    await repo.publishVersion(`1.0.${i}`, text);
    await repo.update(install);
    const reopened = await Mounts.open({ runtime: "r", installDir: home });
    assert.deepEqual(reopened.stale, [], `after update ${i - 1}`);
    assert.equal(dec(await reopened.readFile("a.txt")), text, `persisted mount after update ${i - 1}`);
    assert.equal(dec(await live.readFile("a.txt")), text, `open mount after update ${i - 1}`);
  }
  t.diagnostic(`${updates} updates followed`);
});
