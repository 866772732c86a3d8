import "../../src/register-node.js";
import assert from "node:assert/strict";
import { cp, rm } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { update } from "../../src/client/ops/update.js";
import { isFerryError } from "../../src/core/errors.js";
import { HttpTransport } from "../../src/node/http-transport.js";
import type { Transport } from "../../src/ports/transport.js";
import { hostileCases } from "../../src/testing/hostile-behaviours.js";
import { pass, startHostileServer } from "../../src/testing/hostile-server.js";
import { expectedTree, readTree, sortedEntries, v1InstallWithV2Published } from "../helpers/helpers.js";

/** Counts the body bytes the client actually read (the HTTP layer, after any decoding). */
function counting(inner: Transport): Transport & { bytes: number } {
  const counter = {
    bytes: 0,
    async get(url: string, request?: Parameters<Transport["get"]>[1]) {
      const response = await inner.get(url, request);
      const body = (async function* () {
        for await (const part of response.body) {
          counter.bytes += part.length;
          yield part;
        }
      })();
      return { ...response, body };
    },
  };
  return counter;
}

const IDLE_MS = 300;
const ATTEMPTS = 3;
const TIME_LIMIT_MS = 15_000;
/** Slack over the bound: one pointer cap (64 KiB), for bodies cut or overrun mid-way. */
const CAP = 64 * 1024;

/**
 * Each behaviour of src/testing/hostile-behaviours.ts serves a v1 -> v2 update. A case passes when the
 * update ends with the exact v2 tree, or with a typed FerryError (of the listed codes) and the v1 tree
 * unchanged; the client reads at most ATTEMPTS x (a whole-pack update's bytes) + CAP; it finishes
 * within TIME_LIMIT_MS (idle timeout 300 ms); and no promise rejection goes unhandled.
 */
test("hostile HTTP server battery: the exact new tree or a typed error with the install unchanged", async (t) => {
  // Chunk downloads (no deltas): the behaviours target range answers over several packs' worth of chunks.
  // With deltas v2 is a few small objects, and a body one byte short can still carry every needed,
  // verified byte (seen: the exact v2 tree), so the behaviours' expected errors would not be guaranteed.
  const { dir, server, template, pub } = await v1InstallWithV2Published(t, { deltaHistory: 0 });
  const hostile = await startHostileServer(server.url, pass);
  t.after(() => hostile.close());
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on("unhandledRejection", onUnhandled);
  t.after(() => void process.off("unhandledRejection", onUnhandled));

  const v1 = JSON.stringify(sortedEntries(expectedTree(1)));
  const v2 = JSON.stringify(sortedEntries(expectedTree(2)));
  const secrets = { authorization: "Bearer ferry-test-token", cookie: "session=ferry-test" };

  const run = async (name: string, rangeMode?: "full") => {
    const install = join(dir, `install-${name}`);
    await cp(template, install, { recursive: true });
    const transport = counting(new HttpTransport({ idleTimeoutMs: IDLE_MS, headers: secrets }));
    const sleeps: number[] = [];
    const clock = { now: () => new Date(), sleep: async (ms: number) => void sleeps.push(ms) };
    const started = performance.now();
    let error: unknown;
    try {
      await update({
        repoUrl: hostile.url,
        installDir: install,
        trust: [pub],
        transport,
        clock,
        maxAttempts: ATTEMPTS,
        ...(rangeMode ? { rangeMode } : {}),
      });
    } catch (e) {
      error = e;
    }
    const ms = performance.now() - started;
    const tree = JSON.stringify(sortedEntries(await readTree(install)));
    await rm(install, { recursive: true, force: true });
    return { error, ms, tree, bytes: transport.bytes, sleeps };
  };

  // The bound's base: an update that downloads whole packs (the most a correct client ever needs).
  const whole = await run("whole-packs", "full");
  assert.equal(whole.error, undefined);
  const bound = ATTEMPTS * whole.bytes + CAP;

  const seed = Number(process.env.FERRY_HOSTILE_SEED ?? Math.floor(Math.random() * 2 ** 31));
  let a = seed;
  const random = () => (a = (Math.imul(a, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const cases = hostileCases(random);
  assert.ok(cases.length >= 25, `${cases.length} behaviours`);
  const table: string[] = [];
  for (const c of cases) {
    hostile.setBehaviour(c.behaviour);
    const r = await run(c.name.replace(/\W+/g, "-"));
    const outcome =
      r.error === undefined ? "new" : isFerryError(r.error) ? r.error.code : `untyped ${String(r.error)}`;
    table.push(
      `| ${c.name} | ${c.expect === "new" || c.expect === "any" ? c.expect : c.expect.join(" or ")} | ${outcome} | ${r.bytes} | ${r.ms.toFixed(0)} |`,
    );
    const label = `${c.name} (seed ${seed}): ${r.error instanceof Error ? r.error.message : "no error"}`;
    if (r.error === undefined) {
      assert.equal(r.tree, v2, `${label}: success must leave exactly v2`);
      assert.ok(
        c.expect === "new" || c.expect === "any",
        `${label}: expected ${String(c.expect)}, got the new tree`,
      );
    } else {
      assert.ok(isFerryError(r.error), `${label}: an untyped error`);
      assert.equal(r.tree, v1, `${label}: a failure must leave v1 unchanged`);
      assert.ok(
        c.expect === "any" ||
          (c.expect !== "new" && c.expect.includes(r.error.code)) ||
          (c.alsoRefusedAs?.code === r.error.code && c.alsoRefusedAs.when(r.error.data)),
        `${label}: expected ${String(c.expect)}, got ${r.error.code}`,
      );
    }
    assert.ok(r.bytes <= bound, `${label}: read ${r.bytes} B > bound ${bound} B`);
    assert.ok(r.ms < TIME_LIMIT_MS, `${label}: took ${r.ms} ms`);
    if (c.sleeps) assert.ok(c.sleeps(r.sleeps), `${label}: sleeps ${r.sleeps.join(",")}`);
    if (c.name.startsWith("redirect to another origin")) {
      const other = hostile.log.filter((e) => e.origin === "other");
      const main = hostile.log.filter((e) => e.origin === "main");
      assert.ok(other.length > 0 && main.every((e) => e.headers.authorization === secrets.authorization));
      assert.ok(other.every((e) => e.headers.authorization === undefined && e.headers.cookie === undefined));
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 50)); // let any stray rejection surface
  assert.deepEqual(unhandled, [], "no unhandled rejections");
  t.diagnostic(
    `seed ${seed}; ${cases.length} behaviours; bound ${bound} B (3 x whole-pack update ${whole.bytes} B + ${CAP} B)`,
  );
  t.diagnostic("| behaviour | expected | outcome | bytes read | ms |");
  for (const line of table) t.diagnostic(line);
});
