import { createHash } from "node:crypto";
import { chmod, mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

/** Deterministic pseudo-random bytes (SHA-256 in counter mode): same seed, same game. */
export function pseudoRandom(seed: string, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let offset = 0, i = 0; offset < length; i++) {
    const block = createHash("sha256").update(`${seed}:${i}`).digest();
    offset += block.copy(out, offset);
  }
  return out;
}

const WORDS = [
  "hero",
  "sword",
  "dungeon",
  "potion",
  "gold",
  "level",
  "dragon",
  "shield",
  "magic",
  "door",
  "key",
  "boss",
  "rat",
  "scroll",
  "ring",
];

function text(seed: string, lines: number): string {
  const bytes = pseudoRandom(seed, lines * 8);
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const words = Array.from(
      { length: 3 + (bytes[i * 8]! % 6) },
      (_, k) => WORDS[bytes[i * 8 + k]! % WORDS.length],
    );
    out.push(`msg.${seed.replace(/\W/g, "_")}.${i}=${words.join(" ")}`);
  }
  return out.join("\n") + "\n";
}

/**
 * A sample game in `version` 1, 2 or 3. Between versions: text files gain and change lines, a few
 * sprites change, files are added and removed, and a large pack file gets an insertion in the middle
 * (content-defined chunking must keep the rest). `scale` multiplies the sizes.
 */
export function sampleGame(
  version: 1 | 2 | 3,
  scale = 1,
): Map<string, { data: Buffer; executable?: boolean }> {
  const files = new Map<string, { data: Buffer; executable?: boolean }>();
  const languages = ["en", "de", "fr", "ja", "pt-BR"];
  for (const lang of languages) {
    let body = text(`messages-${lang}`, 400 * scale);
    if (version >= 2)
      body =
        body.replace("msg.messages_" + lang.replace(/\W/g, "_") + ".10=", "msg.changed.10=") +
        text(`new-${lang}-v2`, 20);
    if (version >= 3 && lang !== "ja") body += text(`new-${lang}-v3`, 15);
    files.set(`messages/${lang}.properties`, { data: Buffer.from(body) });
  }
  for (let i = 0; i < 24 * scale; i++) {
    const changed = (version >= 2 && i % 8 === 3) || (version >= 3 && i % 11 === 5);
    files.set(`sprites/item_${String(i).padStart(3, "0")}.png`, {
      data: pseudoRandom(`sprite-${i}-${changed ? version : 1}`, 6000 + ((i * 997) % 30000)),
    });
  }
  const pack = pseudoRandom("levels", 1_500_000 * scale);
  const levels =
    version === 1
      ? pack
      : Buffer.concat([
          pack.subarray(0, 700_000 * scale),
          pseudoRandom(`insert-${version}`, 5000),
          pack.subarray(700_000 * scale),
        ]);
  files.set("data/levels.pak", { data: levels });
  files.set("bin/launch.sh", {
    data: Buffer.from(`#!/bin/sh\necho "sample game v${version}"\n`),
    executable: true,
  });
  files.set("README.txt", { data: Buffer.from(`Sample game\n`) });
  if (version === 1) files.set("data/old-intro.txt", { data: Buffer.from(text("intro", 50)) });
  if (version >= 2)
    files.set("data/new-area/map.json", {
      data: Buffer.from(JSON.stringify({ rooms: text("rooms", 80).split("\n") })),
    });
  if (version === 3) files.delete("sprites/item_000.png");
  files.set("empty.dat", { data: Buffer.alloc(0) });
  return files;
}

export async function writeGame(
  dir: string,
  files: Map<string, { data: Buffer; executable?: boolean }>,
): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  for (const [path, file] of files) {
    const native = join(dir, ...path.split("/"));
    await mkdir(dirname(native), { recursive: true });
    await writeFile(native, file.data);
    await chmod(native, file.executable ? 0o755 : 0o644);
  }
}
