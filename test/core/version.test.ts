/** Release version order used by the rollback check, docs/FORMAT.md §6. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { compareVersions } from "../../src/core/version.js";

describe("compareVersions", () => {
  const ascending = [
    "0.9",
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "1.0.1",
    "1.2",
    "1.9.0",
    "1.10.0",
    "2",
    "2.0.1",
    "10.0.0",
    "99999999999999999999.0",
  ];

  it("orders SemVer precedence examples (numeric parts as numbers, pre-releases first)", () => {
    for (let i = 0; i < ascending.length; i++) {
      for (let j = 0; j < ascending.length; j++) {
        const expected = Math.sign(i - j);
        assert.equal(
          Math.sign(compareVersions(ascending[i]!, ascending[j]!)),
          expected,
          `${ascending[i]} vs ${ascending[j]}`,
        );
      }
    }
  });

  it("ignores build metadata and treats missing trailing parts as 0", () => {
    assert.equal(compareVersions("1.2.0+build.5", "1.2.0+build.9"), 0);
    assert.equal(compareVersions("1.2", "1.2.0"), 0);
    assert.equal(compareVersions("1.2.0.0", "1.2"), 0);
  });

  const version = fc
    .array(fc.oneof(fc.nat({ max: 30 }).map(String), fc.constantFrom("a", "b", "rc", "x1")), {
      minLength: 1,
      maxLength: 4,
    })
    .chain((main) =>
      fc
        .option(
          fc.array(fc.oneof(fc.nat({ max: 5 }).map(String), fc.constantFrom("alpha", "beta")), {
            minLength: 1,
            maxLength: 3,
          }),
        )
        .map((pre) => main.join(".") + (pre ? `-${pre.join(".")}` : "")),
    );

  it("is a total order: antisymmetric and transitive (property)", () => {
    fc.assert(
      fc.property(version, version, version, (a, b, c) => {
        // === (not Object.is): 0 and -0 are the same answer.
        assert.ok(Math.sign(compareVersions(a, b)) === -Math.sign(compareVersions(b, a)), `${a} vs ${b}`);
        if (compareVersions(a, b) <= 0 && compareVersions(b, c) <= 0) assert.ok(compareVersions(a, c) <= 0);
      }),
      { numRuns: 2000 },
    );
  });
});
