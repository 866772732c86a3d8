/**
 * Kill battery: during an update the whole browser (its process group) gets SIGKILL at a seeded random
 * moment spread over the update's measured duration; Chromium is relaunched on the same persistent
 * profile with the repository unreachable, and /game/* must be exactly the old or exactly the new
 * release for every file, from storage alone (never a mix, nothing fetched later); status() must agree, and an update must then complete. The repository is behind a throttled proxy
 * so an update lasts long enough to be hit anywhere. FERRY_WEB_KILLS (default 20) kills,
 * FERRY_WEB_SEED replays a run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { seededRandom } from "../../src/testing/random.js";
import { tempDir } from "../helpers/helpers.js";
import { numbered, type Release } from "./fixtures/web-game.js";
import {
  assertServes,
  installedVersion,
  ok,
  openBrowser,
  openDemo,
  requireChromium,
  type RunningBrowser,
  servedRelease,
  startDemo,
  startUpdate,
  webRepo,
} from "./harness.js";

const KILLS = Number(process.env.FERRY_WEB_KILLS ?? 20);
const SEED = Number(process.env.FERRY_WEB_SEED ?? 20261202);
const BIG_BYTES = 300_000;
/** 16 KiB every 25 ms: about 640 KiB/s, so one update takes around half a second of transfer. */
const THROTTLE = { bytesPerTick: 16 * 1024, tickMs: 25 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test(`kill battery: SIGKILL the browser during an update ${KILLS} times; old or new, never mixed; the update then completes`, async (t) => {
  const executable = await requireChromium(t);
  if (!executable) return;
  const profile = join(await tempDir(t), "profile");
  const repo = await webRepo(t, { throttle: THROTTLE });
  const random = seededRandom(SEED);
  const releases = new Map<number, Release>();
  const publish = async (n: number) => {
    const files = numbered(n, BIG_BYTES);
    releases.set(n, files);
    await repo.publish(`${n}.0.0`, files);
  };
  const absentFrom = (n: number) =>
    [...new Set([...releases.values()].flatMap((files) => [...files.keys()]))].filter(
      (p) => !releases.get(n)!.has(p),
    );

  // The demo keeps running across browser kills: the origin (and so the profile's storage) stays.
  await publish(1);
  const demo = await startDemo(t, repo);
  let browser: RunningBrowser = await openBrowser(executable, profile);
  t.after(() => browser.close());
  let page = await browser.context.newPage();
  await openDemo(page, demo);
  await ok(page, "update");

  // One unkilled update measures how long the kills must be spread over.
  await publish(2);
  const started = Date.now();
  await ok(page, "update");
  const duration = Date.now() - started;
  await openDemo(page, demo);
  await assertServes(page, releases.get(2)!, absentFrom(2));

  let installed = 2;
  const outcomes = { old: 0, new: 0 };
  const delays: number[] = [];
  const phases = { publish: 0, relaunch: 0, check: 0, complete: 0 };
  let mark = Date.now();
  const lap = (phase: keyof typeof phases) => {
    phases[phase] += Date.now() - mark;
    mark = Date.now();
  };
  for (let kill = 1; kill <= KILLS; kill++) {
    const next = installed + 1;
    mark = Date.now();
    await publish(next);
    lap("publish");
    const delay = Math.round(random() * duration * 1.5);
    delays.push(delay);
    await startUpdate(page);
    await sleep(delay);
    await browser.kill();
    // Relaunched with the repository unreachable: what is served must come from storage alone.
    await repo.stopOrigin();
    mark = Date.now();
    browser = await openBrowser(executable, profile);
    // The tab Chromium opened at launch (about:blank): a new one costs a renderer start.
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
    await openDemo(page, demo);
    lap("relaunch");
    const old = releases.get(installed)!;
    const fresh = releases.get(next)!;
    const which = await servedRelease(page, { old, new: fresh });
    const version = await installedVersion(page);
    assert.equal(
      version,
      `${which === "old" ? installed : next}.0.0`,
      `kill ${kill} (after ${delay} ms): status() agrees with what /game/* serves`,
    );
    outcomes[which === "old" ? "old" : "new"]++;
    await repo.startOrigin();
    lap("check");
    if (which === "old") {
      await ok(page, "update");
      await openDemo(page, demo);
      assert.equal(
        await installedVersion(page),
        `${next}.0.0`,
        `kill ${kill}: the update completes after the kill`,
      );
    }
    await assertServes(page, fresh, absentFrom(next));
    lap("complete");
    installed = next;
  }
  const per = (ms: number) => `${Math.round(ms / KILLS)} ms`;
  t.diagnostic(
    `kills ${KILLS} (seed ${SEED}, update ~${duration} ms, delays ${Math.min(...delays)}..${Math.max(...delays)} ms): old ${outcomes.old}, new ${outcomes.new}, mixed 0; per kill: publish ${per(phases.publish)}, relaunch ${per(phases.relaunch)}, check ${per(phases.check)}, complete ${per(phases.complete)}`,
  );
  if (KILLS >= 5) assert.ok(outcomes.old > 0, "some kills hit an update before its commit");
});
