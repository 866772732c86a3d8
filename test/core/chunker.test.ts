/**
 * Chunker tests (docs/FORMAT.md §3, `fastcdc-gear32-v1`).
 *
 * The golden vectors below pin the chunk boundaries of the format: a client written from the spec
 * must cut exactly here, and any change to the chunker that moves a boundary must fail this file.
 *
 * Golden inputs are generated deterministically in this file:
 * - `counterBytes(n)`: SHA-256 in counter mode; block i is SHA-256 of the ASCII string
 *   "ferry-golden:" + i (i in decimal), blocks concatenated and truncated to n bytes.
 * - `textBytes(n, seed)`: words from the fixed list WORDS picked by a 32-bit LCG
 *   (state = state * 1664525 + 1013904223 mod 2^32, the Numerical Recipes constants; word index =
 *   (state >>> 16) mod WORDS.length, then one more step decides the separator: ".\n" when
 *   state mod 11 == 0, else " "), UTF-8 (all ASCII), truncated to n bytes.
 * - `zeros`: 200000 zero bytes (no natural cut points: every chunk is cut at `max`).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  Chunker,
  type ChunkingParams,
  chunkLengths,
  DEFAULT_CHUNKING,
  GEAR,
  validateChunking,
} from "../../src/core/chunker.js";
import { FerryError } from "../../src/core/errors.js";

const SMALL: ChunkingParams = { algorithm: "fastcdc-gear32-v1", min: 256, avg: 1024, max: 4096 };
/** The golden vectors were cut with these parameters (the first default); they pin the algorithm, not the default. */
const MEDIUM: ChunkingParams = { algorithm: "fastcdc-gear32-v1", min: 4096, avg: 16384, max: 65536 };

// ---------------------------------------------------------------------------------------------------
// Deterministic input generators

function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

function counterBytes(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0, offset = 0; offset < size; i++, offset += 32) {
    const block = createHash("sha256").update(`ferry-golden:${i}`).digest();
    out.set(block.subarray(0, Math.min(32, size - offset)), offset);
  }
  return out;
}

const WORDS = [
  "the",
  "ferry",
  "leaves",
  "harbour",
  "at",
  "dawn",
  "with",
  "seven",
  "crates",
  "of",
  "salt",
  "and",
  "one",
  "lantern",
  "while",
  "gulls",
  "circle",
  "over",
  "grey",
  "water",
  "captain",
  "checks",
  "manifest",
  "again",
];

function textBytes(size: number, seed: number): Uint8Array {
  let state = seed >>> 0;
  const next = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state;
  };
  let text = "";
  while (text.length < size) {
    text += WORDS[(next() >>> 16) % WORDS.length];
    text += next() % 11 === 0 ? ".\n" : " ";
  }
  return new TextEncoder().encode(text.slice(0, size));
}

/** mulberry32: a small seeded PRNG for large pseudo-random inputs in property tests. */
function prngBytes(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let a = seed >>> 0;
  for (let i = 0; i < size; i += 4) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const word = (t ^ (t >>> 14)) >>> 0;
    out[i] = word & 0xff;
    if (i + 1 < size) out[i + 1] = (word >>> 8) & 0xff;
    if (i + 2 < size) out[i + 2] = (word >>> 16) & 0xff;
    if (i + 3 < size) out[i + 3] = word >>> 24;
  }
  return out;
}

/** Low-entropy input over a tiny alphabet, to exercise long runs and max-length cuts. */
function lowEntropyBytes(size: number, seed: number, alphabet: number): Uint8Array {
  const random = prngBytes(size, seed);
  return random.map((b) => b % alphabet);
}

function splitByLengths(data: Uint8Array, lengths: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let offset = 0;
  for (const length of lengths) {
    out.push(data.subarray(offset, offset + length));
    offset += length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Independent reference implementation written from FORMAT.md §3 (deliberately no bit tricks:
// plain arithmetic mod 2^32, and "h & mask == 0" for a mask of the top k bits is "h < 2^(32-k)").

const TWO_32 = 2 ** 32;

const SPEC_GEAR: readonly number[] = Array.from({ length: 256 }, (_, i) => {
  const d = createHash("sha256")
    .update(Buffer.from("ferry-gear-v1:" + String(i), "ascii"))
    .digest();
  return d[0]! * 2 ** 24 + d[1]! * 2 ** 16 + d[2]! * 2 ** 8 + d[3]!;
});

function specCut(data: Uint8Array, s: number, p: ChunkingParams): number {
  const r = data.length - s;
  if (r <= p.min) return r;
  const n = Math.min(r, p.max);
  const normal = Math.min(p.avg, n);
  let bits = 0;
  while (2 ** bits < p.avg) bits++;
  const limitS = 2 ** (32 - (bits + 2)); // h & maskS == 0  <=>  h < limitS
  const limitL = 2 ** (32 - (bits - 2));
  let h = 0;
  let i = p.min;
  while (i < normal) {
    h = (h * 2 + SPEC_GEAR[data[s + i]!]!) % TWO_32;
    i = i + 1;
    if (h < limitS) return i;
  }
  while (i < n) {
    h = (h * 2 + SPEC_GEAR[data[s + i]!]!) % TWO_32;
    i = i + 1;
    if (h < limitL) return i;
  }
  return n;
}

function specChunkLengths(data: Uint8Array, p: ChunkingParams): number[] {
  const lengths: number[] = [];
  for (let s = 0; s < data.length;) {
    const length = specCut(data, s, p);
    lengths.push(length);
    s += length;
  }
  return lengths;
}

// ---------------------------------------------------------------------------------------------------
// Golden vectors

interface Golden {
  readonly name: string;
  readonly input: () => Uint8Array;
  readonly inputSha256: string;
  readonly params: ChunkingParams;
  readonly lengths: readonly number[];
  /** SHA-256 of the first chunks, in order. */
  readonly firstChunks: readonly string[];
}

const COUNTER_SHA = "70e580360b446c482f9fb60e181fadc2039b13d61a568b61ab7140eb8abb41e8";
const TEXT_SHA = "6baa1452ce368dbe11489fc79b1f64aa432922d230a2a8210fd68cccdb0a5295";
const ZEROS_SHA = "4cbbd9be0cba685835755f827758705db5a413c5494c34262cd25946a73e7582";

const counterInput = (): Uint8Array => counterBytes(384 * 1024);
const textInput = (): Uint8Array => textBytes(256 * 1024, 20261121);
const zerosInput = (): Uint8Array => new Uint8Array(200000);

const GOLDEN: readonly Golden[] = [
  {
    name: "counter-mode SHA-256, 384 KiB, min 4 KiB / avg 16 KiB / max 64 KiB",
    input: counterInput,
    inputSha256: COUNTER_SHA,
    params: MEDIUM,
    lengths: [
      19607, 17518, 24766, 20113, 17280, 4935, 17497, 20760, 28852, 23716, 30435, 19610, 16503, 20631, 16726,
      17741, 22119, 17771, 20304, 5179, 11153,
    ],
    firstChunks: [
      "558f88728c5207fc8b2e6fafa59d3f3a03e7888d37acbef8079b9a937ca42bb0",
      "26cfacab0a3b72ce1b9e5b05f5a07a7481c5d44aad48c30e321a211cfd5219ca",
      "a2fd1b326bf3927e12f0f8312e049f1c03b589feea798784129db12c63c1c008",
    ],
  },
  {
    name: "counter-mode SHA-256, 384 KiB, min 256 / avg 1024 / max 4096",
    input: counterInput,
    inputSha256: COUNTER_SHA,
    params: SMALL,
    lengths: [
      1170, 1084, 1516, 1042, 1663, 1095, 1048, 1026, 1181, 506, 744, 1177, 1094, 1333, 1063, 1145, 1464,
      1044, 1195, 1269, 1404, 1060, 631, 874, 2123, 1201, 1156, 1069, 1090, 1094, 1077, 1487, 1204, 1266,
      1153, 1276, 1358, 1235, 1063, 1222, 1092, 1440, 1026, 1347, 366, 547, 507, 1273, 1324, 1177, 1234, 1338,
      1123, 1195, 1231, 269, 1505, 2183, 359, 1470, 792, 1251, 1188, 1115, 1579, 1449, 1592, 1507, 1142, 1316,
      1557, 1048, 763, 260, 1028, 1714, 1398, 739, 1106, 1105, 1189, 1048, 1039, 1069, 1193, 1189, 1572, 1448,
      1339, 576, 1192, 1014, 404, 1397, 1092, 1587, 1086, 484, 1257, 1146, 1042, 1059, 1211, 1118, 1145, 1263,
      1442, 1225, 1033, 1214, 1106, 1180, 1146, 1110, 1182, 1097, 1204, 2005, 1166, 1262, 1242, 1514, 632,
      520, 1431, 1214, 1091, 1403, 271, 1354, 1152, 1386, 497, 1505, 1079, 1057, 1067, 1054, 1148, 1189, 1515,
      1561, 1090, 1116, 1268, 1073, 1302, 1300, 434, 383, 1265, 1583, 1883, 1100, 1041, 1140, 1207, 386, 1255,
      1606, 1183, 1036, 630, 1053, 1128, 1128, 1299, 1092, 1069, 1024, 1097, 523, 1380, 965, 1608, 272, 1583,
      1850, 1491, 1242, 1749, 1233, 1196, 1251, 1411, 1076, 1332, 2330, 1249, 1334, 1619, 1995, 649, 1013,
      1320, 1447, 1087, 1123, 1245, 1081, 1056, 1062, 1317, 1146, 836, 1051, 955, 1730, 1042, 1034, 1350,
      1140, 1262, 814, 1687, 2123, 1953, 1212, 1122, 1088, 1091, 1118, 608, 1044, 678, 1236, 1109, 1089, 279,
      1039, 2659, 1120, 287, 1092, 1344, 1398, 1791, 1415, 1350, 1580, 1544, 1187, 1129, 1415, 1176, 1057,
      568, 313, 1733, 1029, 1109, 1216, 504, 1566, 1301, 1146, 1463, 1062, 1253, 334, 1092, 1227, 857, 1345,
      1201, 1118, 1049, 1963, 1223, 1408, 1396, 1848, 1085, 1222, 447, 1231, 1166, 1346, 1471, 1027, 637,
      1035, 1450, 1384, 1034, 1179, 1041, 1056, 1064, 1128, 1213, 1228, 1106, 1043, 1040, 1117, 584, 1081,
      1082, 1139, 1573, 298, 1813, 1643, 683, 1069, 1184, 1078, 1305, 1406, 1236, 1938, 1027, 1083, 1612,
      1107, 1208, 770, 1319, 1661, 1301, 1483, 1038, 1180, 1066, 412, 1820, 1107, 1490, 801, 1070, 732, 842,
      1044, 1781, 466,
    ],
    firstChunks: [
      "9c14e65df3a734a28a8c5453c8eb1f4d6669e0edd9449046916dbe8079e8f2ef",
      "10b313158d5c2be10b411b949608f8f1644e438ec004f1a844e9e58d50f9b6c4",
      "8ad6782f7af8e07c6e92d48c819444063dc53da7fa7e27ecbb01891908b0627e",
    ],
  },
  {
    name: "LCG word text, 256 KiB, min 4 KiB / avg 16 KiB / max 64 KiB",
    input: textInput,
    inputSha256: TEXT_SHA,
    params: MEDIUM,
    lengths: [
      22074, 16581, 19031, 14820, 20492, 18821, 17315, 11988, 16987, 17702, 6736, 9400, 9121, 12233, 20353,
      21779, 6711,
    ],
    firstChunks: [
      "9df3c42f1f7fb6b10ed9ccbdbfbca9a726d0f962ebfb185657e71a61fbfb5ee2",
      "71a1d6a6fc8e548995e9726faa9ffe776ceea27345daffc7dbb289170701e972",
      "78a2f81ed76fe750fb1520f029c4bb51ef65caf94a2b509a1aa702d165e2d2f3",
    ],
  },
  {
    name: "LCG word text, 256 KiB, min 256 / avg 1024 / max 4096",
    input: textInput,
    inputSha256: TEXT_SHA,
    params: SMALL,
    lengths: [
      601, 952, 1147, 1321, 920, 1064, 1359, 1082, 1113, 1060, 1567, 1827, 1339, 1447, 1157, 1756, 1245, 1117,
      1038, 946, 1769, 861, 1365, 1519, 1191, 1195, 1084, 1336, 1451, 383, 1096, 1118, 1135, 1380, 1247, 1268,
      1467, 1318, 1329, 385, 1455, 1588, 1066, 734, 1075, 1126, 1115, 1572, 2069, 1183, 1125, 1136, 1188,
      1127, 1938, 1231, 1322, 1097, 1048, 356, 1271, 1051, 1228, 1173, 1131, 610, 1200, 1440, 1424, 1202,
      1030, 1417, 867, 1293, 1187, 1531, 1137, 300, 1070, 1094, 1249, 458, 378, 1088, 1208, 1039, 1297, 1279,
      521, 1193, 1041, 1238, 1156, 1158, 1115, 1050, 1750, 1201, 1073, 1863, 1057, 1151, 1123, 1477, 1283,
      1149, 1613, 1448, 1052, 1235, 1065, 495, 1071, 1520, 1793, 621, 728, 1478, 1128, 1027, 711, 1089, 1011,
      615, 1079, 341, 1154, 1381, 1476, 1345, 1165, 1215, 1187, 1183, 1822, 304, 1446, 1041, 1130, 1088, 1874,
      1065, 1182, 615, 398, 1217, 1552, 1583, 370, 1121, 1349, 671, 1084, 605, 1145, 1117, 1343, 1104, 338,
      1585, 261, 493, 1163, 2581, 1078, 1186, 1053, 1439, 299, 425, 405, 1035, 1050, 1041, 268, 1033, 1041,
      1085, 1063, 1169, 1463, 1054, 1136, 1302, 1045, 1104, 1161, 1096, 640, 1156, 1355, 1445, 1157, 1185,
      1047, 1413, 1125, 1131, 1141, 1229, 1197, 1504, 1061, 1190, 1559, 458, 1060, 297, 1911, 858, 1051, 1115,
      1146, 1088, 1082, 1039, 1199, 1041, 1394, 2121, 1278, 1483, 1137, 1442, 1176, 1389, 1033, 1048, 1055,
      1047,
    ],
    firstChunks: [
      "d0a4dc5b4235deb854bb9254b2046e804dd8b3a05f3356e620076a85358f38ed",
      "2ac4c27a48753cfd0b14ff42b378ba699c0b47bf86fefad36fa2c5da2705b214",
      "a57057fdc616cc41cde58d491a1b9eda0c6cf868ce2bd660b6936585449475db",
    ],
  },
  {
    name: "200000 zero bytes, min 4 KiB / avg 16 KiB / max 64 KiB (no cut point: max-length chunks)",
    input: zerosInput,
    inputSha256: ZEROS_SHA,
    params: MEDIUM,
    lengths: [65536, 65536, 65536, 3392],
    firstChunks: [
      "de2f256064a0af797747c2b97505dc0b9f3df0de4f489eac731c23ae9ca9cc31",
      "de2f256064a0af797747c2b97505dc0b9f3df0de4f489eac731c23ae9ca9cc31",
    ],
  },
  {
    name: "200000 zero bytes, min 256 / avg 1024 / max 4096",
    input: zerosInput,
    inputSha256: ZEROS_SHA,
    params: SMALL,
    lengths: [...Array<number>(48).fill(4096), 3392],
    firstChunks: ["ad7facb2586fc6e966c004d7d1d16b024f5805ff7cb47c7a85dabd8b48892ca7"],
  },
];

describe("chunker: gear table", () => {
  it("pins the first four GEAR values (FORMAT.md §3 definition)", () => {
    const pinned = [0xb83d83ed, 0xafe664f9, 0xfae0e1d7, 0x1c8206e0];
    assert.deepEqual(SPEC_GEAR.slice(0, 4), pinned);
    assert.deepEqual([...GEAR.slice(0, 4)], pinned);
  });

  it("matches the spec definition for all 256 entries", () => {
    assert.equal(GEAR.length, 256);
    assert.deepEqual([...GEAR], SPEC_GEAR);
  });
});

describe("chunker: golden vectors (fastcdc-gear32-v1)", () => {
  for (const golden of GOLDEN) {
    it(golden.name, () => {
      const data = golden.input();
      assert.equal(sha256Hex(data), golden.inputSha256, "the input generator changed, not the chunker");
      const lengths = chunkLengths(data, golden.params);
      assert.deepEqual(lengths, golden.lengths);
      assert.deepEqual(specChunkLengths(data, golden.params), golden.lengths, "reference implementation");
      const chunks = splitByLengths(data, lengths);
      assert.deepEqual(chunks.slice(0, golden.firstChunks.length).map(sha256Hex), golden.firstChunks);
    });
  }

  it("DEFAULT_CHUNKING is the documented publisher default", () => {
    assert.deepEqual(DEFAULT_CHUNKING, {
      algorithm: "fastcdc-gear32-v1",
      min: 16384,
      avg: 65536,
      max: 262144,
    });
  });

  it("an empty input has no chunks", () => {
    assert.deepEqual(chunkLengths(new Uint8Array(0)), []);
    assert.deepEqual(chunkLengths(new Uint8Array(0), SMALL), []);
    const chunker = new Chunker(SMALL);
    assert.deepEqual(chunker.push(new Uint8Array(0)), []);
    assert.deepEqual(chunker.finish(), []);
  });

  it("an input of at most min bytes is a single chunk", () => {
    for (const size of [1, 2, 255, 256]) {
      assert.deepEqual(chunkLengths(counterBytes(size), SMALL), [size]);
    }
    assert.deepEqual(chunkLengths(counterBytes(4096)), [4096]);
  });
});

// ---------------------------------------------------------------------------------------------------
// Properties

const PARAM_SETS: readonly [string, ChunkingParams][] = [
  ["DEFAULT_CHUNKING", DEFAULT_CHUNKING],
  ["min 256 / avg 1024 / max 4096", SMALL],
];

/** Inputs of several shapes: random, low-entropy (runs, max cuts), or text-like. */
function inputArbitrary(maxSize: number): fc.Arbitrary<Uint8Array> {
  const size = fc.nat({ max: maxSize });
  const seed = fc.integer({ min: 0, max: 0xffffffff });
  return fc.oneof(
    fc.tuple(size, seed).map(([n, s]) => prngBytes(n, s)),
    fc.tuple(size, seed, fc.integer({ min: 1, max: 3 })).map(([n, s, a]) => lowEntropyBytes(n, s, a)),
    fc.tuple(size, seed).map(([n, s]) => textBytes(n, s)),
    fc.uint8Array({ maxLength: 2000 }),
  );
}

describe("chunker: properties", () => {
  for (const [label, params] of PARAM_SETS) {
    const maxSize = params.max * 6;

    it(`chunkLengths equals the reference implementation of FORMAT.md §3 (${label})`, () => {
      fc.assert(
        fc.property(inputArbitrary(maxSize), (data) => {
          assert.deepEqual(chunkLengths(data, params), specChunkLengths(data, params));
        }),
        { numRuns: 60 },
      );
    });

    it(`lengths sum to the input length; all but the last chunk lie in [min, max] (${label})`, () => {
      fc.assert(
        fc.property(inputArbitrary(maxSize), (data) => {
          const lengths = chunkLengths(data, params);
          assert.equal(
            lengths.reduce((a, b) => a + b, 0),
            data.length,
          );
          lengths.forEach((length, i) => {
            assert.ok(length >= 1 && length <= params.max, `chunk ${i} has length ${length}`);
            if (i < lengths.length - 1) assert.ok(length >= params.min, `chunk ${i} has length ${length}`);
          });
        }),
        { numRuns: 60 },
      );
    });
  }

  it("streaming Chunker fed random split sizes gives the same boundaries as chunkLengths", () => {
    const params = fc.constantFrom(...PARAM_SETS.map(([, p]) => p));
    fc.assert(
      fc.property(
        params,
        inputArbitrary(5 * 65536),
        // Mixed piece sizes, from below min to above max (1-byte pieces: the next test).
        fc.array(fc.integer({ min: 200, max: 70000 }), { minLength: 1, maxLength: 8 }),
        (p, data, splits) => {
          const chunker = new Chunker(p);
          const out: Uint8Array[] = [];
          let offset = 0;
          for (let i = 0; offset < data.length; i++) {
            const size = splits[i % splits.length]!;
            out.push(...chunker.push(data.subarray(offset, offset + size)));
            offset += size;
          }
          out.push(...chunker.finish());
          assert.deepEqual(
            out.map((c) => c.length),
            chunkLengths(data, p),
          );
          assert.equal(sha256Hex(Buffer.concat(out)), sha256Hex(data));
        },
      ),
      { numRuns: 40 },
    );
  });

  it("streaming Chunker fed 1-byte (and tiny) pieces gives the same boundaries (small inputs)", () => {
    fc.assert(
      fc.property(
        inputArbitrary(12000),
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 4 }),
        (data, splits) => {
          const chunker = new Chunker(SMALL);
          const lengths: number[] = [];
          let offset = 0;
          for (let i = 0; offset < data.length; i++) {
            const size = splits[i % splits.length]!;
            for (const c of chunker.push(data.subarray(offset, offset + size))) lengths.push(c.length);
            offset += size;
          }
          for (const c of chunker.finish()) lengths.push(c.length);
          assert.deepEqual(lengths, chunkLengths(data, SMALL));
        },
      ),
      { numRuns: 25 },
    );
  });

  it("chunks returned by the streaming Chunker stay valid after later pushes", () => {
    const data = counterBytes(20000);
    const chunker = new Chunker(SMALL);
    const out: Uint8Array[] = [];
    for (let offset = 0; offset < data.length; offset += 1000) {
      out.push(...chunker.push(data.subarray(offset, offset + 1000)));
    }
    out.push(...chunker.finish());
    assert.equal(sha256Hex(Buffer.concat(out)), sha256Hex(data));
  });

  it("shift resistance: inserting 1..100 bytes into ~1 MiB keeps >= 90% of the chunks", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 1, max: 100 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (seed, k, where) => {
          const original = prngBytes(1024 * 1024, seed);
          const inserted = prngBytes(k, seed ^ 0x5bd1e995);
          const position = Math.floor(where * original.length);
          const modified = new Uint8Array(original.length + k);
          modified.set(original.subarray(0, position), 0);
          modified.set(inserted, position);
          modified.set(original.subarray(position), position + k);

          const before = chunkLengths(original);
          const after = chunkLengths(modified);
          const beforeHashes = splitByLengths(original, before).map(sha256Hex);
          const afterHashes = new Set(splitByLengths(modified, after).map(sha256Hex));
          const kept = beforeHashes.filter((h) => afterHashes.has(h)).length;
          assert.ok(
            kept >= 0.9 * beforeHashes.length,
            `only ${kept} of ${beforeHashes.length} chunks survived an insertion of ${k} bytes at ${position}`,
          );

          // Boundaries wholly before the insertion point cannot move (except the final chunk's,
          // whose cut depends on the remaining length).
          let end = 0;
          for (let i = 0; i < before.length - 1; i++) {
            end += before[i]!;
            if (end > position) break;
            assert.equal(after[i], before[i], `chunk ${i} ends at ${end} <= ${position} but moved`);
          }
        },
      ),
      { numRuns: 8 },
    );
  });
});

describe("chunker: validateChunking", () => {
  const bad = (overrides: Partial<Record<keyof ChunkingParams, unknown>>): ChunkingParams =>
    ({ ...SMALL, ...overrides }) as unknown as ChunkingParams;

  it("accepts the default and the small parameter sets", () => {
    validateChunking(DEFAULT_CHUNKING);
    validateChunking(SMALL);
  });

  const cases: [string, ChunkingParams][] = [
    ["unknown algorithm", bad({ algorithm: "fastcdc-gear64-v1" })],
    ["avg not a power of two", bad({ avg: 1000 })],
    ["min == avg", bad({ min: 1024 })],
    ["min > avg", bad({ min: 2048 })],
    ["avg == max", bad({ max: 1024 })],
    ["avg > max", bad({ max: 512 })],
    ["non-integer min", bad({ min: 256.5 })],
    ["NaN max", bad({ max: Number.NaN })],
    ["string avg", bad({ avg: "1024" })],
    ["negative min", bad({ min: -256 })],
    // Implementation limits stated in the error message ("64 <= min", "max <= 16 MiB").
    ["min below 64", bad({ min: 32, avg: 64, max: 256 })],
    ["max above 16 MiB", bad({ max: 16 * 1024 * 1024 + 1 })],
  ];
  for (const [label, params] of cases) {
    it(`rejects ${label} with E_FORMAT`, () => {
      assert.throws(
        () => validateChunking(params),
        (e: unknown) => e instanceof FerryError && e.code === "E_FORMAT",
      );
      assert.throws(
        () => new Chunker(params),
        (e: unknown) => e instanceof FerryError && e.code === "E_FORMAT",
      );
    });
  }
});
