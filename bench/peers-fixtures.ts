/**
 * Generated fixtures for the peer benchmark (bench/peers.ts): each is a pair of build trees v1 -> v2 made
 * from a seeded PRNG, so two runs with the same scale produce byte-identical trees. Nothing is committed.
 *
 *   F1 shifted pack: one stored (uncompressed) archive of incompressible blobs; v2 inserts, edits and deletes
 *      about 1-2 % of it, which shifts every later offset.
 *   F2 rebuilt binary: generated C program compiled twice with gcc -O2, one function changed.
 *   F3 loose tree: thousands of small text and binary files, a few edited, added and deleted.
 *   F4 huge file (>= 4 GiB), only on request: a streamed pseudo-random file with a few local edits.
 */
import { execFileSync } from "node:child_process";
import { createCipheriv, createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { seededRandom } from "../src/testing/random.js";

/** Incompressible bytes from a seed: AES-128-CTR keystream (fast, deterministic). */
export function prngBytes(seed: string, length: number): Buffer {
  const key = createHash("sha256").update(seed).digest();
  const cipher = createCipheriv("aes-128-ctr", key.subarray(0, 16), key.subarray(16, 32));
  return cipher.update(Buffer.alloc(length));
}

async function writeTree(root: string, files: ReadonlyMap<string, Buffer>): Promise<void> {
  for (const [path, data] of files) {
    const full = join(root, path);
    await mkdir(dirname(full), { recursive: true });
    await writeFile(full, data);
  }
}

const int = (random: () => number, lo: number, hi: number): number =>
  lo + Math.floor(random() * (hi - lo + 1));

// -------------------------------------------------------------------------------------------------------
// F1 shifted pack

interface Blob {
  readonly name: string;
  readonly data: Buffer;
}

/** Stored archive: per entry a 4-byte name length, the name, an 8-byte size, the bytes; then nothing else. */
function pack(blobs: readonly Blob[]): Buffer {
  const parts: Buffer[] = [Buffer.from("FPAK0001")];
  for (const blob of blobs) {
    const name = Buffer.from(blob.name);
    const head = Buffer.alloc(12);
    head.writeUInt32LE(name.length, 0);
    head.writeBigUInt64LE(BigInt(blob.data.length), 4);
    parts.push(head, name, blob.data);
  }
  return Buffer.concat(parts);
}

export async function makeShiftedPack(dir: string, totalBytes: number, seed: number): Promise<string> {
  const random = seededRandom(seed);
  const blobs: Blob[] = [];
  let size = 0;
  for (let i = 0; size < totalBytes; i++) {
    // Varied sizes: mostly small assets, some large ones.
    const length =
      random() < 0.8 ? int(random, 4 * 1024, 256 * 1024) : int(random, 256 * 1024, 4 * 1024 * 1024);
    blobs.push({ name: `assets/blob-${i}.bin`, data: prngBytes(`f1-${seed}-${i}`, length) });
    size += length;
  }
  // v2: touch ~1.5 % of the bytes: small inserts and deletes inside blobs (shifting everything after),
  // in-place edits, whole blobs removed and added.
  const budget = Math.floor(size * 0.015);
  let touched = 0;
  const v2 = blobs.map((b) => ({ ...b }));
  for (let k = 0; touched < budget; k++) {
    const i = int(random, 0, v2.length - 1);
    const blob = v2[i];
    if (blob === undefined) continue;
    const kind = random();
    const at = int(random, 0, blob.data.length - 1);
    const len = int(random, 16, 16 * 1024);
    if (kind < 0.35) {
      const insert = prngBytes(`f1-ins-${seed}-${k}`, len);
      v2[i] = {
        name: blob.name,
        data: Buffer.concat([blob.data.subarray(0, at), insert, blob.data.subarray(at)]),
      };
    } else if (kind < 0.6) {
      v2[i] = {
        name: blob.name,
        data: Buffer.concat([blob.data.subarray(0, at), blob.data.subarray(at + len)]),
      };
    } else if (kind < 0.9) {
      const data = Buffer.from(blob.data);
      prngBytes(`f1-edit-${seed}-${k}`, len).copy(data, at);
      v2[i] = { name: blob.name, data: data.subarray(0, blob.data.length) };
    } else if (kind < 0.95 && blob.data.length < 64 * 1024) {
      v2.splice(i, 1);
      touched += blob.data.length;
      continue;
    } else {
      v2.splice(i, 0, { name: `assets/new-${k}.bin`, data: prngBytes(`f1-new-${seed}-${k}`, len * 4) });
      touched += len * 3;
    }
    touched += len;
  }
  const config = Buffer.from(`{"game":"f1","pack":"data.pak"}\n`);
  await writeTree(
    join(dir, "v1"),
    new Map([
      ["data.pak", pack(blobs)],
      ["config.json", config],
    ]),
  );
  await writeTree(
    join(dir, "v2"),
    new Map([
      ["data.pak", pack(v2)],
      ["config.json", config],
    ]),
  );
  return `${blobs.length} blobs, ~${((100 * touched) / size).toFixed(1)} % of bytes touched`;
}

// -------------------------------------------------------------------------------------------------------
// F2 rebuilt binary

function cSource(functions: number, seed: number, changed: number | null): string {
  const random = seededRandom(seed);
  const lines = ["#include <stdio.h>", "#include <stdlib.h>", "#include <string.h>", ""];
  for (let i = 0; i < functions; i++) {
    const a = int(random, 1, 1000);
    const b = int(random, 1, 1000);
    const c = int(random, 2, 31);
    const extra = i === changed ? "    acc ^= (acc << 7) + 0x5bd1e995u; acc += (unsigned)n * 977u;\n" : "";
    lines.push(
      `unsigned f${i}(unsigned n) {`,
      `    unsigned acc = ${a}u;`,
      `    for (unsigned k = 0; k < n % ${c + 5}u; k++) {`,
      `        acc = acc * ${b}u + (k ^ ${c}u);`,
      `        if (acc % ${c}u == 0) acc += (unsigned)strlen("f${i}-${a}-${b}");`,
      `    }`,
      extra + `    return acc ^ ${a * b}u;`,
      `}`,
    );
  }
  lines.push("typedef unsigned (*fn)(unsigned);", `static fn table[${functions}] = {`);
  for (let i = 0; i < functions; i++) lines.push(`    f${i},`);
  lines.push(
    "};",
    "int main(int argc, char **argv) {",
    "    unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 7u, acc = 0;",
    `    for (unsigned i = 0; i < ${functions}u; i++) acc += table[i](n + i);`,
    '    printf("%u\\n", acc);',
    "    return 0;",
    "}",
  );
  return lines.join("\n");
}

/** Throws when gcc is absent or fails; the caller records the fixture as skipped. */
export async function makeRebuiltBinary(dir: string, functions: number, seed: number): Promise<string> {
  const changed = Math.floor(functions / 2);
  for (const [version, edit] of [
    ["v1", null],
    ["v2", changed],
  ] as const) {
    const src = join(dir, `${version}.c`);
    await writeFile(src, cSource(functions, seed, edit));
    const out = join(dir, version, "bin", "game");
    await mkdir(dirname(out), { recursive: true });
    execFileSync("gcc", ["-O2", "-o", out, src], { stdio: ["ignore", "ignore", "pipe"] });
    await writeFile(join(dir, version, "README.txt"), "generated program for the Ferry peer benchmark\n");
    await rm(src);
  }
  return `${functions} functions, gcc -O2, function f${changed} changed`;
}

// -------------------------------------------------------------------------------------------------------
// F3 loose tree

const WORDS =
  "lorem ipsum dolor sit amet sword shield potion goblin dungeon level torch scroll ring armor".split(" ");

function text(random: () => number, length: number): Buffer {
  const out: string[] = [];
  let n = 0;
  while (n < length) {
    const w = WORDS[int(random, 0, WORDS.length - 1)] ?? "x";
    out.push(w);
    n += w.length + 1;
  }
  return Buffer.from(out.join(" ").slice(0, length));
}

export async function makeLooseTree(dir: string, count: number, seed: number): Promise<string> {
  const random = seededRandom(seed);
  const v1 = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const folder = `d${i % 37}/s${i % 11}`;
    const binary = random() < 0.3;
    const size = int(random, 100, binary ? 32 * 1024 : 12 * 1024);
    v1.set(
      `${folder}/file-${i}.${binary ? "bin" : "txt"}`,
      binary ? prngBytes(`f3-${seed}-${i}`, size) : text(random, size),
    );
  }
  const v2 = new Map(v1);
  const paths = [...v1.keys()];
  const pick = (): string => paths[int(random, 0, paths.length - 1)] ?? "";
  const edits = Math.max(3, Math.floor(count * 0.01));
  let edited = 0;
  let removed = 0;
  for (let k = 0; k < edits; k++) {
    const path = pick();
    const data = v2.get(path);
    if (data === undefined) continue;
    const at = int(random, 0, data.length);
    const insert = path.endsWith(".txt") ? text(random, int(random, 5, 200)) : prngBytes(`f3-e-${k}`, 64);
    v2.set(path, Buffer.concat([data.subarray(0, at), insert, data.subarray(at)]));
    edited++;
  }
  for (let k = 0; k < Math.max(2, Math.floor(count * 0.003)); k++) {
    if (v2.delete(pick())) removed++;
  }
  const added = Math.max(2, Math.floor(count * 0.003));
  for (let k = 0; k < added; k++) v2.set(`new/added-${k}.txt`, text(random, int(random, 100, 8000)));
  await writeTree(join(dir, "v1"), v1);
  await writeTree(join(dir, "v2"), v2);
  return `${count} files; ${edited} edits, ${added} added, ${removed} removed`;
}

// -------------------------------------------------------------------------------------------------------
// F4 huge file

async function streamFile(
  path: string,
  totalBytes: number,
  seed: string,
  edits: ReadonlyMap<number, Buffer>,
): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const out = createWriteStream(path);
  const block = 16 * 1024 * 1024;
  for (let i = 0, offset = 0; offset < totalBytes; i++, offset += block) {
    let data = prngBytes(`${seed}-${i}`, Math.min(block, totalBytes - offset));
    const edit = edits.get(i);
    if (edit) data = Buffer.concat([data.subarray(0, 1000), edit, data.subarray(1000)]);
    if (!out.write(data)) await new Promise<void>((r) => out.once("drain", () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
}

export async function makeHugeFile(dir: string, seed: number): Promise<string> {
  const size = 4 * 1024 * 1024 * 1024 + 64 * 1024 * 1024;
  await streamFile(join(dir, "v1", "huge.pak"), size, `f4-${seed}`, new Map());
  const edits = new Map(
    [100, 200, 250].map((block) => [block, prngBytes(`f4-edit-${block}`, 4096)] as const),
  );
  await streamFile(join(dir, "v2", "huge.pak"), size, `f4-${seed}`, edits);
  return `${size} B file, 3 inserts of 4 KiB`;
}
