/** Small custom releases for the install batteries (player files, links under .ferry/, preflight). */
import "../src/register-node.js";
import { cp, mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { publish } from "../src/publisher/publish.js";
import { serveRepository } from "../src/server/static-server.js";
import type { SigningKey } from "../src/core/keys.js";
import { keys, tempDir } from "./helpers.js";

export type Tree = Readonly<Record<string, string>>;

export async function writeTree(dir: string, tree: Tree): Promise<void> {
  for (const [path, text] of Object.entries(tree)) {
    const native = join(dir, ...path.split("/"));
    await mkdir(dirname(native), { recursive: true });
    await writeFile(native, text);
  }
}

let builds = 0;

/** Publishes `tree` as `version` into `repo`. */
export async function publishTree(
  dir: string,
  repo: string,
  key: SigningKey,
  version: number,
  tree: Tree,
): Promise<void> {
  const build = join(dir, `build-${++builds}`);
  await writeTree(build, tree);
  await publish({
    buildDir: build,
    repo,
    version: `${version}.0.0`,
    key,
    created: new Date(Date.UTC(2026, 0, 1) + version * 60_000),
    expiresInDays: 36500,
    rootExpiresInDays: 36500,
    deltaHistory: 0,
  });
}

/** A served repository with `first` published; `copy()` gives a fresh install directory per trial. */
export async function servedRepo(t: Parameters<typeof tempDir>[0]) {
  const dir = await tempDir(t);
  const repo = join(dir, "repo");
  const k = keys();
  let version = 0;
  let trials = 0;
  let server: Awaited<ReturnType<typeof serveRepository>> | undefined;
  t.after(async () => server?.close());
  return {
    dir,
    pub: k.pub,
    /** Publishes the next version; the server starts with the first. */
    async release(tree: Tree): Promise<number> {
      await publishTree(dir, repo, k.key, ++version, tree);
      server ??= await serveRepository({ root: repo });
      return version;
    },
    get url(): string {
      if (!server) throw new Error("publish a release first");
      return server.url;
    },
    /** A new empty directory (or a copy of `from`) for one trial. */
    async trial(from?: string): Promise<string> {
      const install = join(dir, `install-${++trials}`);
      if (from) await cp(from, install, { recursive: true, verbatimSymlinks: true });
      else await mkdir(install, { recursive: true });
      return install;
    },
  };
}
