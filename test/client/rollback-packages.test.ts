/**
 * Rollback with optional packages, and what an install can do after a rollback: the previous release is
 * restored as that install held it (an optional package it never installed is not "missing"), and
 * package changes and repair still verify the installed release's signed pin (state.pinPointer).
 */
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { verify } from "../../src/client/ops/inspect.js";
import { rollback } from "../../src/client/ops/launch.js";
import { changePackages, listPackages } from "../../src/client/ops/packages.js";
import { repair } from "../../src/client/ops/repair.js";
import { repoFixture } from "../helpers/served-repo.js";

const PACKAGES = {
  format: 1,
  type: "ferry-packages",
  packages: { hd: { optional: true } },
  rules: [{ match: "hd/**", package: "hd" }],
};

describe("rollback with optional packages", () => {
  it("restores a previous release whose optional package was never installed, then packages and repair work", async (t) => {
    const fx = await repoFixture(t);
    const game = join(fx.dir, "game");
    await fx.publish({ "game.txt": "v1", "hd/tex.bin": "hd v1" }, { version: "1.0.0", packages: PACKAGES });
    await fx.update(game);
    await fx.publish({ "game.txt": "v2", "hd/tex.bin": "hd v2" }, { version: "2.0.0", packages: PACKAGES });
    await fx.update(game);
    assert.equal(await readFile(join(game, "game.txt"), "utf8"), "v2");

    const result = await rollback({ installDir: game });
    assert.equal(result.version, "1.0.0");
    assert.equal(await readFile(join(game, "game.txt"), "utf8"), "v1");
    assert.equal((await verify({ installDir: game })).ok, true);

    // The rolled-back install can still change its packages: the pin is verified against its own pointer.
    await changePackages({ ...fx.options(game), add: ["hd"] });
    assert.equal(await readFile(join(game, "hd/tex.bin"), "utf8"), "hd v1");
    assert.deepEqual(
      (await listPackages({ installDir: game }))
        .filter((p) => p.installed)
        .map((p) => p.name)
        .sort(),
      ["base", "hd"],
    );
    // And repair restores the rolled-back release, not the blocked newer one.
    await import("node:fs/promises").then((fs) => fs.writeFile(join(game, "game.txt"), "damaged"));
    await repair({ ...fx.options(game) });
    assert.equal(await readFile(join(game, "game.txt"), "utf8"), "v1");
  });
});
