// Moves TypeScript modules and rewrites every relative import that pointed at them.
// Usage: node tools/move-modules.mjs mapping.txt   (lines "old/path.ts new/path.ts"; '#' comments)
// Kept in the repository so a reorganisation is a reviewable mapping, not a hand edit of hundreds of imports.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";

const root = process.cwd();
const lines = readFileSync(process.argv[2], "utf8")
  .split("\n")
  .map((l) => l.replace(/#.*/, "").trim())
  .filter(Boolean);
const moves = new Map();
for (const line of lines) {
  const [from, to] = line.split(/\s+/);
  if (!from || !to) throw new Error(`bad line: ${line}`);
  if (!existsSync(from)) throw new Error(`missing: ${from}`);
  moves.set(resolve(root, from), resolve(root, to));
}
const files = execFileSync("git", ["ls-files", "*.ts", "*.mts"], { encoding: "utf8" })
  .split("\n")
  .filter(Boolean);
const newPath = (abs) => moves.get(abs) ?? abs;
const specifier = /((?:import|export)[^'"]*?from\s*|import\s*\(\s*|import\s+)(["'])(\.{1,2}\/[^"']+)\2/g;
for (const file of files) {
  const absFile = resolve(root, file);
  const text = readFileSync(absFile, "utf8");
  const fileAfter = newPath(absFile);
  const out = text.replace(specifier, (whole, head, quote, spec) => {
    const target = resolve(dirname(absFile), spec).replace(/\.js$/, ".ts");
    const targetAfter = newPath(target);
    if (targetAfter === target && fileAfter === absFile) return whole;
    let rel = relative(dirname(fileAfter), targetAfter).split("\\").join("/").replace(/\.ts$/, ".js");
    if (!rel.startsWith(".")) rel = `./${rel}`;
    return `${head}${quote}${rel}${quote}`;
  });
  if (out !== text) writeFileSync(absFile, out);
}
for (const [from, to] of moves) {
  mkdirSync(dirname(to), { recursive: true });
  execFileSync("git", ["mv", relative(root, from), relative(root, to)]);
}
console.log(`moved ${moves.size} modules`);
