import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { compileGlob } from "../../src/core/glob.js";
import { packageOf, parsePackageRules, usedPackages } from "../../src/core/packages-config.js";
import { carrySelection } from "../../src/core/selection.js";
import type { Manifest } from "../../src/core/manifest.js";
import { expectCode } from "../helpers/helpers.js";

test("glob examples", () => {
  const cases: [string, string, boolean][] = [
    ["*.pak", "a.pak", true],
    ["*.pak", "dir/a.pak", false],
    ["**/*.pak", "a.pak", true],
    ["**/*.pak", "x/y/a.pak", true],
    ["hd/**", "hd/a", true],
    ["hd/**", "hd/a/b.png", true],
    ["hd/**", "hd", false],
    ["hd/**", "hdx/a", false],
    ["a/**/b", "a/b", true],
    ["a/**/b", "a/x/y/b", true],
    ["a/**/b", "a/x/yb", false],
    ["level?.dat", "level1.dat", true],
    ["level?.dat", "level10.dat", false],
    ["level[0-4].dat", "level3.dat", true],
    ["level[0-4].dat", "level5.dat", false],
    ["level[!0-4].dat", "level5.dat", true],
    ["level[!0-4].dat", "level3.dat", false],
    ["a[!x]b", "a/b", false],
    ["a[!x]b", "a-b", true],
    ["\\*.txt", "*.txt", true],
    ["\\*.txt", "a.txt", false],
    ["a.b", "axb", false],
    ["(x)+{1}|$^", "(x)+{1}|$^", true],
    ["Data/*", "data/x", false],
    ["**", "any/thing", true],
  ];
  for (const [pattern, path, expected] of cases) {
    assert.equal(compileGlob(pattern)(path), expected, `${pattern} vs ${path}`);
  }
  for (const bad of ["", "a[/]b", "/a", "a/", "a//b", "a**", "[abc", "[]", "a\\", "[z-a]"])
    expectCode(() => compileGlob(bad), "E_USAGE");
});

/** Reference matcher: a different algorithm (recursive backtracking over segments and characters). */
function reference(pattern: string, path: string): boolean {
  const seg = (p: string, s: string): boolean => {
    if (p === "") return s === "";
    if (p[0] === "*") return [...Array(s.length + 1).keys()].some((k) => seg(p.slice(1), s.slice(k)));
    if (s === "") return false;
    return (p[0] === "?" || p[0] === s[0]) && seg(p.slice(1), s.slice(1));
  };
  const all = (P: string[], S: string[]): boolean => {
    if (P.length === 0) return S.length === 0;
    if (P[0] === "**") {
      if (P.length === 1) return S.length > 0;
      return [...Array(S.length + 1).keys()].some((k) => all(P.slice(1), S.slice(k)));
    }
    return S.length > 0 && seg(P[0]!, S[0]!) && all(P.slice(1), S.slice(1));
  };
  return all(pattern.split("/"), path.split("/"));
}

test("property: the glob compiler agrees with a reference matcher", () => {
  const pathSeg = fc.stringMatching(/^[ab.]{1,4}$/);
  const patSeg = fc.oneof(
    fc.constant("**"),
    fc.stringMatching(/^[ab.?*]{1,4}$/).filter((s) => !s.includes("**")),
  );
  fc.assert(
    fc.property(
      fc.array(patSeg, { minLength: 1, maxLength: 4 }),
      fc.array(pathSeg, { minLength: 1, maxLength: 5 }),
      (p, s) => {
        const pattern = p.join("/");
        const path = s.join("/");
        assert.equal(compileGlob(pattern)(path), reference(pattern, path), `${pattern} vs ${path}`);
      },
    ),
    { numRuns: 2000 },
  );
});

test("package rules: first match wins, base is the default, the manifest lists used packages", () => {
  const rules = parsePackageRules(
    {
      format: 1,
      type: "ferry-packages",
      packages: { hd: { optional: true }, music: { optional: false }, unused: { optional: true } },
      rules: [
        { match: "hd/ui/**", package: "base" },
        { match: "hd/**", package: "hd" },
        { match: "**/*.ogg", package: "music" },
      ],
    },
    "test rules",
  );
  assert.equal(packageOf(rules, "hd/ui/button.png"), "base");
  assert.equal(packageOf(rules, "hd/tex.png"), "hd");
  assert.equal(packageOf(rules, "hd/theme.ogg"), "hd");
  assert.equal(packageOf(rules, "sfx/theme.ogg"), "music");
  assert.equal(packageOf(rules, "bin/game"), "base");
  assert.deepEqual(usedPackages(rules, ["hd", "music"]), {
    base: { optional: false },
    hd: { optional: true },
    music: { optional: false },
  });
  expectCode(
    () =>
      parsePackageRules(
        { format: 1, type: "ferry-packages", packages: { "Bad Name": { optional: true } }, rules: [] },
        "t",
      ),
    "E_USAGE",
  );
  expectCode(
    () =>
      parsePackageRules({ format: 1, type: "ferry-packages", packages: {}, rules: [{ match: "a" }] }, "t"),
    "E_FORMAT",
  );
});

function release(packages: Record<string, boolean>): Manifest {
  return {
    format: 1,
    version: "1",
    created: "2026-01-01T00:00:00Z",
    previous: null,
    chunking: { algorithm: "fastcdc-gear32-v1", min: 4096, avg: 16384, max: 65536 },
    packs: [],
    packages: Object.fromEntries(Object.entries(packages).map(([n, optional]) => [n, { optional }])),
    files: [],
  };
}

test("carrySelection: defaults, explicit sets, kept sets, dropped and newly required packages", () => {
  const v1 = release({ base: false, hd: true, voice: true });
  assert.deepEqual(carrySelection(undefined, undefined, v1).selection.packages, ["base"]);
  assert.deepEqual(carrySelection(undefined, undefined, v1, ["hd", "base", "hd"]).selection.packages, [
    "base",
    "hd",
  ]);
  expectCode(() => carrySelection(undefined, undefined, v1, ["nope"]), "E_USAGE");
  const v2 = release({ base: false, hd: true, levels: false });
  const carried = carrySelection(v1, { packages: ["base", "voice"], paths: [] }, v2);
  assert.deepEqual(carried.selection.packages, ["base", "levels"]);
  assert.deepEqual(carried.droppedPackages, ["voice"]);
  // A package the user removed stays removed even when it is not optional.
  const kept = carrySelection(v2, { packages: ["hd"], paths: [] }, v2);
  assert.deepEqual(kept.selection.packages, ["hd"]);
});
