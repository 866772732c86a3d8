/** Small custom releases for the install batteries (player files, links under .ferry/, preflight). */
import "../../src/register-node.js";
import { cp, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { repoFixture } from "./served-repo.js";

export type Tree = Readonly<Record<string, string>>;

/** A served repository with `first` published; `copy()` gives a fresh install directory per trial. */
export async function servedRepo(t: Parameters<typeof repoFixture>[0]) {
  const fixture = await repoFixture(t);
  const dir = fixture.dir;
  let version = 0;
  let trials = 0;
  return {
    dir,
    pub: fixture.pub,
    /** Publishes `tree` as the next version. */
    async release(tree: Tree): Promise<number> {
      const v = ++version;
      await fixture.publish(tree, {
        version: `${v}.0.0`,
        created: new Date(Date.UTC(2026, 0, 1) + v * 60_000),
        expiresInDays: 36500,
        rootExpiresInDays: 36500,
        deltaHistory: 0,
      });
      return v;
    },
    get url(): string {
      if (version === 0) throw new Error("publish a release first");
      return fixture.url;
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
