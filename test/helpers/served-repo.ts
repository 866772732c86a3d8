/**
 * The one publish + serve + install fixture of the tests: a temp directory holding a repository that
 * the static server serves from the start (an empty directory until the first publish), a fresh test
 * key, `publish` for a build given as files, and `update` for an install of it. Options a test needs
 * (dates, expiry, layout, deltas, runtime) are passed through to publish unchanged; nothing is defaulted
 * beyond what publish itself defaults.
 */
import "../../src/register-node.js";
import { chmod, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { update, type UpdateOptions, type UpdateSummary } from "../../src/client/ops/update.js";
import { publish, type PublishOptions, type PublishResult } from "../../src/publisher/publish.js";
import { type RunningServer, serveRepository } from "../../src/server/static-server.js";
import { keys, tempDir } from "./helpers.js";

/** A file of a build: its text or bytes, optionally executable. */
export type BuildFile =
  | string
  | Uint8Array
  | { readonly data: string | Uint8Array; readonly executable?: boolean }
  /** A symbolic link with this target. */
  | { readonly link: string };
/** A build: release path ('/'-separated) → file. */
export type BuildFiles = ReadonlyMap<string, BuildFile> | Readonly<Record<string, BuildFile>>;

/**
 * Writes `files` into `dir`, replacing what was there; `packages` becomes ferry-packages.json. A file
 * given as { data, executable } gets mode 0755 or 0644; one given as text or bytes the default mode.
 */
export async function writeBuild(dir: string, files: BuildFiles, packages?: unknown): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const entries = files instanceof Map ? [...files] : Object.entries(files as Record<string, BuildFile>);
  for (const [path, file] of entries) {
    const native = join(dir, ...path.split("/"));
    await mkdir(dirname(native), { recursive: true });
    if (typeof file === "object" && "link" in file) {
      await symlink(file.link, native);
      continue;
    }
    const data = typeof file === "string" || file instanceof Uint8Array ? file : file.data;
    await writeFile(native, data);
    if (typeof file === "object" && !(file instanceof Uint8Array))
      await chmod(native, file.executable ? 0o755 : 0o644);
  }
  if (packages !== undefined) await writeFile(join(dir, "ferry-packages.json"), JSON.stringify(packages));
}

export type ReleaseOptions = Omit<PublishOptions, "buildDir" | "repo" | "key"> & {
  /** The build directory's name under the fixture's directory (default build-<n>, n counting publishes). */
  readonly build?: string;
  /** ferry-packages.json of the build. */
  readonly packages?: unknown;
  readonly key?: PublishOptions["key"];
};

export interface ServedRepo {
  readonly dir: string;
  readonly repo: string;
  readonly server: RunningServer;
  readonly url: string;
  readonly key: ReturnType<typeof keys>["key"];
  readonly pub: ReturnType<typeof keys>["pub"];
  readonly publicText: string;
  /** Writes `files` as a build and publishes it; returns publish's result and the build directory. */
  publish(files: BuildFiles, options: ReleaseOptions): Promise<PublishResult & { readonly build: string }>;
  /** Update options for an install at `installDir` of this repository, trusting the fixture's key. */
  options(installDir: string): UpdateOptions & { repoUrl: string; installDir: string };
  /** update() of `installDir` from this repository, with `extra` options. */
  update(installDir: string, extra?: Partial<UpdateOptions>): Promise<UpdateSummary>;
}

export async function repoFixture(t: Parameters<typeof tempDir>[0]): Promise<ServedRepo> {
  const dir = await tempDir(t);
  const repo = join(dir, "repo");
  await mkdir(repo, { recursive: true });
  const k = keys();
  const server = await serveRepository({ root: repo });
  t.after(() => server.close());
  let builds = 0;
  const options = (installDir: string) => ({ repoUrl: server.url, installDir, trust: [k.pub] });
  return {
    dir,
    repo,
    server,
    url: server.url,
    ...k,
    async publish(files, release) {
      const { build: name, packages, key, ...rest } = release;
      const build = join(dir, name ?? `build-${++builds}`);
      await writeBuild(build, files, packages);
      const result = await publish({ buildDir: build, repo, key: key ?? k.key, ...rest });
      return { ...result, build };
    },
    options,
    update: (installDir, extra = {}) => update({ ...options(installDir), ...extra }),
  };
}
