/** Path safety rules, docs/FORMAT.md §1 "Paths". */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { FerryError } from "../../src/core/errors.js";
import {
  assertSafePath,
  assertSafePathSet,
  collisionKey,
  comparePaths,
  MAX_PATH_BYTES,
  MAX_SEGMENT_BYTES,
  type PathRule,
  pathViolation,
  unsafePathReason,
} from "../../src/core/paths.js";

function isUnsafePathError(e: unknown): boolean {
  return e instanceof FerryError && e.code === "E_UNSAFE_PATH";
}

function assertRejected(path: string): void {
  assert.notEqual(unsafePathReason(path), undefined, `${JSON.stringify(path)} should be rejected`);
  assert.throws(() => assertSafePath(path, "test"), isUnsafePathError);
  assert.throws(() => assertSafePathSet([path], "test"), isUnsafePathError);
}

function assertAccepted(path: string): void {
  assert.equal(unsafePathReason(path), undefined, `${JSON.stringify(path)} should be accepted`);
  assertSafePath(path, "test");
  assertSafePathSet([path], "test");
}

const bytes = (s: string): number => Buffer.byteLength(s, "utf8");

describe("paths: single-path rules (FORMAT.md §1)", () => {
  const rejected: [string, string[]][] = [
    ["empty path", [""]],
    ["absolute", ["/etc/passwd", "/a", "//a"]],
    ["drive letter / colon", ["C:x", "C:/x", "c:", "a/b:stream", "file.txt:ads"]],
    ["'..' segment", ["..", "../a", "a/../b", "a/.."]],
    ["'.' segment", [".", "./a", "a/./b", "a/."]],
    ["empty segment", ["a//b", "a///b"]],
    ["trailing slash", ["a/", "a/b/"]],
    ["backslash", ["a\\b", "\\a", "a\\", "..\\..\\x"]],
    ["NUL", ["a\u0000b", "\u0000"]],
    ["control characters", ["a\u0001", "a\tb", "a\nb", "a\rb", "x/\u001fy", "\u001b[31m"]],
    ["DEL", ["a\u007fb"]],
    ["segment ending in a dot", ["a.", "a./b", "x/y.", "..."]],
    ["segment ending in a space", ["a ", "a /b", "x/y "]],
    [
      "Windows reserved device names (case-insensitive, before the first dot)",
      [
        "con",
        "CON",
        "prn",
        "aux",
        "AUX",
        "nul",
        "Nul",
        "aux.txt",
        "AUX.TXT",
        "aux.tar.gz",
        "COM1",
        "com9",
        "lpt1",
        "lpt9.dat",
        "LPT5.x.y",
        "dir/con",
        "dir/aux.txt/x",
        "a/b/nul.bin",
      ],
    ],
    [".ferry as first segment", [".ferry", ".ferry/x", ".FERRY/x", ".Ferry/state.json", ".fErRy/staging/y"]],
    ["non-NFC", ["e\u0301", "cafe\u0301.txt", "dir/A\u030a", "\u212b", "\u212a.txt"]],
  ];
  for (const [rule, paths] of rejected) {
    it(`rejects ${rule}`, () => {
      for (const path of paths) assertRejected(path);
    });
  }

  it("rejects an over-long segment (> 255 UTF-8 bytes), accepts exactly 255", () => {
    assert.equal(MAX_SEGMENT_BYTES, 255);
    assertAccepted("a".repeat(255));
    assertAccepted("dir/" + "a".repeat(255));
    assertRejected("a".repeat(256));
    assertRejected("dir/" + "a".repeat(256) + "/x");
    // Counted in UTF-8 bytes, not characters: 127 x "é" = 254 bytes, 128 x "é" = 256 bytes.
    assertAccepted("é".repeat(127));
    assertRejected("é".repeat(128));
    // 85 x "日" = 255 bytes, 86 = 258.
    assertAccepted("日".repeat(85));
    assertRejected("日".repeat(86));
  });

  it("rejects an over-long path (> 1024 UTF-8 bytes), accepts exactly 1024", () => {
    assert.equal(MAX_PATH_BYTES, 1024);
    const segment = "s".repeat(200);
    const base = Array(5).fill(segment).join("/"); // 1004 bytes
    const exact = base + "/" + "t".repeat(1024 - bytes(base) - 1);
    assert.equal(bytes(exact), 1024);
    assertAccepted(exact);
    const over = exact + "u";
    assert.equal(bytes(over), 1025);
    assertRejected(over);
    // Multi-byte characters count as their UTF-8 length.
    const wide = Array(4).fill("é".repeat(127)).join("/"); // 4 * 254 + 3 = 1019 bytes
    assertAccepted(wide + "/abcd");
    assertRejected(wide + "/abcdé");
  });

  it("accepts ordinary portable paths", () => {
    for (const path of [
      "a",
      "a/b.c/d",
      "bin/game",
      "data/level 1/map.bin",
      "name with spaces inside.txt",
      "con2.txt",
      "com10",
      "com¹0",
      "lpt00",
      "conx/aux1",
      "auxiliary.txt",
      "nul_",
      "x.con",
      "a/.ferry/x",
      ".ferryx/y",
      "ferry/x",
      ".hidden",
      "a/.gitignore",
      "a..b",
      "日本語/ファイル.txt",
      "café.txt",
      "Ångström/ÅÄÖ",
      "emoji-😀.png",
      "a-b_c+d=e,f;g'h(i)[j]{k}!@#$%^&~`",
    ]) {
      assertAccepted(path);
    }
  });

  it("assertSafePath's error names the path and the reason", () => {
    try {
      assertSafePath("../evil", "release 1.0");
      assert.fail("expected an error");
    } catch (e) {
      assert.ok(isUnsafePathError(e));
      const err = e as FerryError;
      assert.equal(err.data.path, "../evil");
      assert.equal(err.data.context, "release 1.0");
      assert.match(err.message, /\.\.\/evil/);
    }
  });
});

describe("paths: every rejection names its rule (data.rule)", () => {
  const byRule: [PathRule, string[]][] = [
    ["empty", [""]],
    ["absolute", ["/x", "//x", "\\\\server\\share\\x", "\\x"]],
    ["drive-letter", ["C:x", "C:/x", "c:", "z:\\x"]],
    ["lone-surrogate", ["a\ud800", "\udc00b", "x/\ud83d/y"]],
    ["path-too-long", ["a/".repeat(600) + "b"]],
    ["not-nfc", ["e\u0301", "\u212a"]],
    ["empty-segment", ["a//b", "a/"]],
    ["dot-segment", ["..", "a/../b", "./a"]],
    ["backslash", ["a\\b", "a/..\\..\\x"]],
    ["control-character", ["a\u0000", "a\u001f", "a\u007f", "a\u0080", "a\u009b[31m", "a\u009f"]],
    ["colon", ["a/b:stream", "xy:z", "file.txt::$DATA"]],
    ["windows-invalid-character", ["a<b", "a>b", 'a"b', "a|b", "a?b", "a*b", "dir/what?.txt"]],
    ["trailing-dot-or-space", ["a.", "a ", "x/y./z"]],
    [
      "reserved-device-name",
      [
        "COM\u00b9",
        "com\u00b2.txt",
        "LPT\u00b3",
        "com0",
        "LPT0.log",
        "conin$",
        "CONOUT$.txt",
        "CON .txt",
        "nul  .tar.gz",
        "a/Aux/b",
      ],
    ],
    ["segment-too-long", ["x".repeat(256)]],
    ["reserved-ferry", [".ferry/state.json", ".FERRY"]],
  ];
  for (const [rule, paths] of byRule) {
    it(`${rule}: ${paths.length} paths`, () => {
      for (const path of paths) {
        assert.equal(pathViolation(path)?.rule, rule, JSON.stringify(path));
        assert.throws(
          () => assertSafePath(path, "release 9"),
          (e: unknown) =>
            isUnsafePathError(e) &&
            (e as FerryError).data.rule === rule &&
            (e as FerryError).data.path === path &&
            (e as FerryError).message.includes(rule),
        );
      }
    });
  }
});

describe("paths: path sets (FORMAT.md §1)", () => {
  it("accepts a set of distinct, non-conflicting paths", () => {
    assertSafePathSet([], "test");
    assertSafePathSet(["a/b", "a/c", "b", "c/d/e", "c/d/f", "ab", "a.b/c"], "test");
  });

  it("rejects paths that differ only in case", () => {
    for (const set of [
      ["A.txt", "a.txt"],
      ["dir/File", "dir/FILE"],
      ["Ä.txt", "ä.txt"],
      ["x/ΣΊΣΥΦΟΣ", "x/σίσυφος"],
    ]) {
      assert.throws(() => assertSafePathSet(set, "test"), isUnsafePathError, JSON.stringify(set));
    }
  });

  it("rejects paths that collide after lower-casing then NFC (both inputs NFC)", () => {
    // "İ" (U+0130) lower-cases to "i" + U+0307, which is already NFC: the two collide.
    assert.equal(collisionKey("İ.txt"), collisionKey("i\u0307.txt"));
    assert.throws(() => assertSafePathSet(["İ.txt", "i\u0307.txt"], "test"), isUnsafePathError);
  });

  it("NFC vs NFD spellings of one name: the NFD one is refused (non-NFC), and they share a key", () => {
    const nfc = "caf\u00e9.txt";
    const nfd = "cafe\u0301.txt";
    assert.equal(collisionKey(nfc), collisionKey(nfd));
    assertAccepted(nfc);
    assertRejected(nfd);
    assert.throws(() => assertSafePathSet([nfc, nfd], "test"), isUnsafePathError);
    assert.throws(() => assertSafePathSet([nfd, nfc], "test"), isUnsafePathError);
  });

  it("folds case fully and ignores default-ignorable code points (documented superset of NTFS/APFS)", () => {
    for (const set of [
      ["Stra\u00dfe.txt", "Strasse.txt"],
      ["\u1e9e", "ss"],
      ["\u1e9e", "\u00df"],
      ["\u03c3", "\u03c2"],
      ["x/\u03a3", "x/\u03c2"],
      ["\ufb01le", "file"],
      ["a\u200db", "ab"],
      ["a\u00adb", "AB"],
    ]) {
      assert.throws(
        () => assertSafePathSet(set, "test"),
        (e: unknown) => isUnsafePathError(e) && (e as FerryError).data.rule === "collision",
        JSON.stringify(set),
      );
    }
    // One ZWJ emoji sequence alone is fine: ignorables matter only for comparing two paths.
    assertSafePathSet(["\u{1f468}\u200d\u{1f469}.png", "b"], "test");
  });

  it("rejects a path that is both a file and a directory of another file", () => {
    for (const set of [
      ["a", "a/b"],
      ["a/b", "a"],
      ["x/y", "x/y/z/w"],
      ["d/e", "a", "d/e/f"],
    ]) {
      assert.throws(() => assertSafePathSet(set, "test"), isUnsafePathError, JSON.stringify(set));
    }
  });

  it("rejects exact duplicates", () => {
    assert.throws(() => assertSafePathSet(["a/b", "a/b"], "test"), isUnsafePathError);
  });

  it("rejects a set containing one unsafe path", () => {
    assert.throws(() => assertSafePathSet(["ok", "also/ok", "../nope"], "test"), isUnsafePathError);
  });

  it("comparePaths is UTF-16 code unit order", () => {
    const paths = ["b", "a/b", "a", "B", "é", "😀", "\uffff", "a-b", "a/a"];
    const sorted = [...paths].sort(comparePaths);
    assert.deepEqual(sorted, ["B", "a", "a-b", "a/a", "a/b", "b", "é", "😀", "\uffff"]);
  });
});

// ---------------------------------------------------------------------------------------------------
// Properties

/** Windows device names as FORMAT.md §1 defines them (incl. COM0/LPT0, superscripts, CONIN$/CONOUT$). */
const RESERVED = new Set([
  "con",
  "prn",
  "aux",
  "nul",
  "conin$",
  "conout$",
  ...[..."0123456789\u00b9\u00b2\u00b3"].flatMap((n) => [`com${n}`, `lpt${n}`]),
]);
/** The part of a segment Windows compares with device names: before the first dot, trailing spaces removed. */
const deviceBase = (segment: string): string =>
  (segment.split(".")[0] ?? "").replace(/ +$/, "").toLowerCase();

const SAFE_CHARS = [
  ..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_+=,;'()[]{}!@#$%&~",
  "é",
  "ü",
  "Ø",
  "ß",
  "日",
  "本",
  "ж",
  "😀",
];
const INNER_CHARS = [...SAFE_CHARS, ".", " "];

/** A segment: first and last character from SAFE_CHARS, inner characters may include '.' and ' '. */
const segmentArb = fc
  .tuple(
    fc.constantFrom(...SAFE_CHARS),
    fc.array(fc.constantFrom(...INNER_CHARS), { maxLength: 20 }),
    fc.option(fc.constantFrom(...SAFE_CHARS), { nil: undefined }),
  )
  .map(([first, inner, last]) => (last === undefined ? first : first + inner.join("") + last))
  .filter((s) => !RESERVED.has(deviceBase(s)));

const safePathArb = fc
  .array(segmentArb, { minLength: 1, maxLength: 4 })
  .map((segments) => segments.join("/"));

describe("paths: properties", () => {
  it("any path joined from 1-4 segments over a safe alphabet is accepted", () => {
    fc.assert(
      fc.property(safePathArb, (path) => {
        assertAccepted(path);
      }),
      { numRuns: 500 },
    );
  });

  it("appending a rejected segment makes any safe path unsafe", () => {
    const badSegment = fc.constantFrom("..", ".", "", "a.", "b ", "aux", "COM3.txt", "x\\y", "x:y", "\u0007");
    fc.assert(
      fc.property(safePathArb, badSegment, (path, bad) => {
        assertRejected(path + "/" + bad);
        assertRejected(bad + "/" + path);
      }),
      { numRuns: 200 },
    );
  });

  it("assertSafePathSet rejects exactly the sets with a collision or a file/directory conflict", () => {
    // Oracle written from the spec: keys are lower-cased then NFC-normalised.
    const key = (p: string): string => p.toLowerCase().normalize("NFC");
    const smallSegment = fc.constantFrom("a", "A", "b", "B", "é", "É", "c.d");
    const smallPath = fc.array(smallSegment, { minLength: 1, maxLength: 3 }).map((s) => s.join("/"));
    fc.assert(
      fc.property(fc.array(smallPath, { maxLength: 6 }), (paths) => {
        const keys = paths.map(key);
        const keySet = new Set(keys);
        const collision = keySet.size !== keys.length;
        const conflict = keys.some((k) => {
          const segments = k.split("/");
          return segments.some((_, i) => i > 0 && keySet.has(segments.slice(0, i).join("/")));
        });
        if (collision || conflict) {
          assert.throws(() => assertSafePathSet(paths, "test"), isUnsafePathError);
        } else {
          assertSafePathSet(paths, "test");
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("the .ferry reserved name uses the collision key", () => {
  // Every spelling a case-insensitive or ignorable-stripping file system stores as ".ferry" itself.
  const ignorables = ["\u00ad", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u034f", "\u180e"];
  const casings = [".ferry", ".FERRY", ".Ferry", ".fErRy", ".FeRrY"];
  const spellings: string[] = [...casings];
  for (const base of casings) {
    for (const ig of ignorables) {
      for (let at = 1; at <= base.length; at++) spellings.push(base.slice(0, at) + ig + base.slice(at));
    }
  }

  it(`refuses ${spellings.length} spellings of .ferry, as the first segment and as a directory`, () => {
    let refused = 0;
    for (const spelling of spellings) {
      assert.equal(collisionKey(spelling), ".ferry", JSON.stringify(spelling));
      for (const path of [spelling, `${spelling}/state.json`, `${spelling}/staging/files/0`]) {
        assert.equal(pathViolation(path)?.rule, "reserved-ferry", JSON.stringify(path));
        refused++;
      }
    }
    assert.equal(refused, spellings.length * 3);
  });

  it("keeps names that only look like .ferry (another collision key) allowed", () => {
    for (const path of [
      ".fferry",
      "\ufb00erry",
      ".ferr",
      ".ferryy",
      "ferry",
      "a/.FERRY",
      ".ferr\u00ady2",
      "x/.ferr\u00ady",
    ]) {
      assert.notEqual(collisionKey(path.split("/")[0]!), ".ferry", path);
      assert.equal(pathViolation(path), undefined, JSON.stringify(path));
    }
  });
});
