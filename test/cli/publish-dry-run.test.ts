import "../../src/register-node.js";
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import type { PublishPlan } from "../../src/publisher/plan-publish.js";
import { ferry } from "../helpers/cli.js";
import { tempDir } from "../helpers/helpers.js";
import { sandboxListing } from "../helpers/sandbox-hash.js";
import { writeBuild } from "../helpers/served-repo.js";

test("ferry publish --dry-run: prints the plan (text and --json), writes nothing, exits 1 when the publish would be refused", async (t) => {
  const dir = await tempDir(t);
  const repo = join(dir, "repo");
  await mkdir(repo);
  const keygen = await ferry("keygen", join(dir, "keys"));
  assert.equal(keygen.code, 0, keygen.stderr);
  const key = join(dir, "keys", "ferry.key");
  const v1 = join(dir, "v1");
  await writeBuild(v1, { "game.bin": "one\n", "data/a.txt": "a\n", "data/b.txt": "b\n" });
  const first = await ferry("publish", v1, "--repo", repo, "--version", "1.0.0", "--key", key);
  assert.equal(first.code, 0, first.stderr);

  const v2 = join(dir, "v2");
  await writeBuild(v2, { "game.bin": "two\n", "data/a.txt": "a\n", "data/c.txt": "c\n" });
  const listing = await sandboxListing(repo);
  const json = await ferry(
    "publish",
    v2,
    "--repo",
    repo,
    "--version",
    "1.1.0",
    "--key",
    key,
    "--dry-run",
    "--json",
  );
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual(
    await sandboxListing(repo),
    listing,
    "the repository is byte-identical after --dry-run --json",
  );
  const result = JSON.parse(json.stdout.trim().split("\n").at(-1)!) as PublishPlan & {
    type: string;
    dryRun: boolean;
  };
  assert.equal(result.type, "result");
  assert.equal(result.dryRun, true);
  assert.equal(result.wouldPublish, true);
  const base = result.packages.find((p) => p.name === "base")!;
  assert.deepEqual([base.added, base.changed, base.removed], [["data/c.txt"], ["game.bin"], ["data/b.txt"]]);
  assert.deepEqual(
    result.downloads.map((d) => d.from),
    ["1.0.0", null],
  );

  const text = await ferry("publish", v2, "--repo", repo, "--version", "1.1.0", "--key", key, "--dry-run");
  assert.equal(text.code, 0, text.stderr);
  assert.deepEqual(await sandboxListing(repo), listing, "the repository is byte-identical after --dry-run");
  assert.match(text.stdout, /^Dry run: nothing was written to /);
  assert.match(
    text.stdout,
    /Would publish 1\.1\.0 to channel 'stable' as serial 2, replacing 1\.0\.0 \(serial 1\)/,
  );
  assert.match(
    text.stdout,
    /Changes against 1\.0\.0: 1 added, 1 changed, 1 removed, 0 moved between packages, 1 unchanged\./,
  );
  assert.match(text.stdout, /\n {4}\+ data\/c\.txt\n {4}~ game\.bin\n {4}- data\/b\.txt\n/);
  const fromV1 = result.downloads[0]!;
  assert.ok(
    text.stdout.includes(`payload`) && text.stdout.includes(`${fromV1.filesWritten} files written`),
    text.stdout,
  );
  assert.match(text.stdout, /\n {2}on 1\.0\.0 .* 1 deleted\n/);
  assert.match(text.stdout, /\n {2}fresh install .* 0 deleted\n/);

  // --last 0: only the fresh install's figure.
  const lastZero = await ferry(
    "publish",
    v2,
    "--repo",
    repo,
    "--version",
    "1.1.0",
    "--key",
    key,
    "--dry-run",
    "--last",
    "0",
    "--json",
  );
  assert.equal(lastZero.code, 0, lastZero.stderr);
  const zero = JSON.parse(lastZero.stdout.trim().split("\n").at(-1)!) as PublishPlan;
  assert.deepEqual(
    zero.downloads.map((d) => d.from),
    [null],
  );

  // A version not above the current one: the real publish would refuse, so the dry run exits 1 and says why.
  const lower = await ferry("publish", v2, "--repo", repo, "--version", "0.9.0", "--key", key, "--dry-run");
  assert.equal(lower.code, 1, lower.stderr);
  assert.match(lower.stdout, /Would REFUSE to publish 0\.9\.0/);
  assert.match(lower.stdout, /refused \(version\): Version 0\.9\.0 is not above 1\.0\.0/);
  assert.deepEqual(await sandboxListing(repo), listing);
  // The real publish is refused the same way.
  const real = await ferry("publish", v2, "--repo", repo, "--version", "0.9.0", "--key", key);
  assert.equal(real.code, 1);
  assert.match(real.stderr, /E_UNSAFE_PUBLISH/);
});
