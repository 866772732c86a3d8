/**
 * Expiry must not be a time bomb (issue 14 §3): a studio that stops publishing makes checks fail once
 * its pointer (and later its root) expires, but an installed game keeps starting: open, markHealthy and
 * mounts never read the pointer's or root's expiry. `ferry check` and `ferry report` warn before expiry.
 */
import "../../src/register-node.js";
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { markHealthy, open } from "../../src/client/ops/launch.js";
import { check } from "../../src/client/ops/update.js";
import { Mounts } from "../../src/mounts/mounts.js";
import { expiryWarnings } from "../../src/publisher/expiry-warnings.js";
import { DirectoryStore } from "../../src/publisher/repo-store.js";
import { rejectsWith } from "../helpers/helpers.js";
import { repoFixture } from "../helpers/served-repo.js";

const DAY = 86_400_000;
const clockAt = (at: Date) => ({ now: () => at, sleep: async () => undefined });

test("silence: past the pointer's and the root's expiry, check fails E_EXPIRED but open, markHealthy and mounts keep working", async (t) => {
  const served = await repoFixture(t);
  const { dir, repo } = served;
  // Pointer valid 10 days, root 20: both soon.
  await served.publish(
    { "game.txt": "the game\n", "data/level.json": "{}\n" },
    { build: "build", version: "1.0.0", expiresInDays: 10, rootExpiresInDays: 20 },
  );
  const install = join(dir, "install");
  await served.update(install);
  await open({ installDir: install });
  await markHealthy({ installDir: install });

  // Before expiry: both are warned about (channel within 14 days, root within 30).
  const warnings = await expiryWarnings(new DirectoryStore(repo));
  assert.deepEqual(warnings.map((w) => w.what).sort(), ["channel stable", "root 1"]);
  assert.ok(warnings.every((w) => w.daysLeft >= 9 && w.daysLeft <= 20));

  for (const daysLater of [11, 21, 400, 3653]) {
    const clock = clockAt(new Date(Date.now() + daysLater * DAY));
    // The network path refuses the stale pointer (the freeze-attack protection stays)...
    await rejectsWith(check({ ...served.options(install), clock }), "E_EXPIRED");
    // ...and the installed game starts, is marked healthy, and serves its files through mounts.
    const opened = await open({ installDir: install, clock });
    assert.equal(opened.version, "1.0.0");
    assert.equal(opened.rolledBack ?? null, null, "no rollback");
    const health = await markHealthy({ installDir: install, clock });
    assert.equal(health.healthy, true);
    const mounts = await Mounts.open({ runtime: "app", clock });
    await mounts.addMount("base", install, 0);
    assert.equal(Buffer.from(await mounts.readFile("game.txt")).toString(), "the game\n");
  }
});
