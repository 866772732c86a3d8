import "../../src/register-node.js";
import { pseudoRandom } from "../../src/testing/game-fixture.js";
import { repoFixture, writeBuild as writeBuildFiles } from "./served-repo.js";

/** A build with packages: base (game + levels), optional hd-textures and voice-en. Sizes span several chunks. */
export function dlcBuild(version: number): Map<string, Buffer> {
  const files = new Map<string, Buffer>([
    ["bin/game", pseudoRandom(`game-${version >= 2 ? 2 : 1}`, 90_000)],
    ["data/levels/1.dat", pseudoRandom("level1", 40_000)],
    ["data/levels/2.dat", pseudoRandom(`level2-${version}`, 30_000)],
    ["hd/tex1.bin", pseudoRandom(`tex1-${version >= 2 ? 2 : 1}`, 200_000)],
    ["hd/tex2.bin", pseudoRandom("tex2", 150_000)],
    ["voice/en/intro.ogg", pseudoRandom("intro", 60_000)],
    ["voice/en/outro.ogg", pseudoRandom("outro", 50_000)],
  ]);
  if (version >= 3) {
    files.delete("voice/en/intro.ogg");
    files.delete("voice/en/outro.ogg");
  }
  return files;
}

export const DLC_RULES = {
  format: 1,
  type: "ferry-packages",
  packages: { "hd-textures": { optional: true }, "voice-en": { optional: true } },
  rules: [
    { match: "hd/**", package: "hd-textures" },
    { match: "voice/en/*.ogg", package: "voice-en" },
  ],
};

export async function writeBuild(dir: string, files: Map<string, Buffer>, rules: unknown): Promise<void> {
  await writeBuildFiles(dir, files, rules);
}

/** A served repository; `publishVersion` publishes dlcBuild(v) (or given files) with the DLC rules. */
export async function dlcRepository(t: Parameters<typeof repoFixture>[0]) {
  const { dir, repo, server, key, pub, publicText, publish } = await repoFixture(t);
  /** Requests the server answered, by URL path. */
  const requests: string[] = [];
  server.server.on("request", (req: { url?: string }) => requests.push(req.url ?? ""));
  const publishVersion = async (
    v: number,
    options: { files?: Map<string, Buffer>; rules?: unknown; runtime?: string } = {},
  ) => {
    return publish(options.files ?? dlcBuild(v), {
      build: `build-${v}`,
      packages: "rules" in options ? options.rules : DLC_RULES,
      version: `${v}.0.0`,
      created: new Date(Date.UTC(2026, 0, v)),
      expiresInDays: 36500,
      rootExpiresInDays: 36500,
      deltaHistory: 0,
      ...(options.runtime === undefined ? {} : { runtime: options.runtime }),
    });
  };
  return { dir, repo, server, requests, publishVersion, key, pub, publicText };
}
