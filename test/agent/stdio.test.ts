import "../../src/register-node.js";
import assert from "node:assert/strict";
import test from "node:test";
import { join } from "node:path";
import { update } from "../../src/client/ops/update.js";
import { startThrottledProxy } from "../../src/testing/throttled-proxy.js";
import { dlcBuild } from "../helpers/content-fixture.js";
import { assertOldOrNew, bigV2, expectAgentError, fixture, startStdioAgent, tour } from "./harness.js";
import type { Json } from "./harness.js";

test("stdio: every method through the real agent process; it exits 0 when stdin closes", async (t) => {
  const r = await fixture(t);
  const agent = startStdioAgent(t, [r.server.url, r.install, "--trust", r.trust]);
  const hello = await agent.waitLine((m) => m.type === "hello");
  assert.deepEqual(agent.lines[0], hello, "hello is the first line");
  assert.equal(hello.installDir, r.install);
  await tour(agent.call, r, r.install, dlcBuild(1));
  // Events were streamed with seq from 1, progress carrying bytes (speed and ETA keys always present).
  assert.equal(agent.events[0]?.seq, 1);
  assert.ok(
    agent.events.every((e, i) => e.seq === i + 1),
    "seq counts up by one",
  );
  const progress = agent.events.filter((e) => e.event.type === "progress");
  assert.ok(progress.some((e) => e.event.bytesDone > 0 && e.event.bytesTotal > 0));
  assert.ok(progress.every((e) => "bytesPerSecond" in e.event && "etaSeconds" in e.event));
  agent.child.stdin.end();
  assert.deepEqual(await agent.exited, { code: 0, signal: null });
});

test("stdio: malformed, non-object, id-less and oversized lines get E_PROTOCOL/E_TOO_LARGE; the agent keeps running", async (t) => {
  const r = await fixture(t);
  const agent = startStdioAgent(t, [r.server.url, r.install, "--trust", r.trust]);
  await agent.waitLine((m) => m.type === "hello");
  agent.send("this is not json\n");
  agent.send("[1,2]\n");
  agent.send('{"method":"status"}\n');
  agent.send('{"id":7,"method":42}\n');
  agent.send('{"id":8,"method":"status","params":[1]}\n');
  const errors = async (n: number) => {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const found = agent.lines.filter((m: Json) => m.type === "error");
      if (found.length >= n) return found as Json[];
      await new Promise((res) => setTimeout(res, 20));
    }
    assert.fail(`fewer than ${n} errors: ${JSON.stringify(agent.lines)}`);
  };
  const five = await errors(5);
  assert.deepEqual(
    five.map((e) => [e.id, e.error.code]),
    [
      [null, "E_PROTOCOL"],
      [null, "E_PROTOCOL"],
      [null, "E_PROTOCOL"],
      [7, "E_PROTOCOL"],
      [8, "E_PROTOCOL"],
    ],
  );
  // A line over 1 MiB, sent in pieces, is skipped to its newline; the next request is served.
  const big = `{"id":9,"method":"status","params":{"pad":"${"x".repeat(1024 * 1024)}"}}\n`;
  agent.send(big.slice(0, 300_000));
  agent.send(big.slice(300_000));
  const six = await errors(6);
  assert.deepEqual([six[5].id, six[5].error.code], [null, "E_TOO_LARGE"]);
  assert.equal(agent.lines.filter((m: Json) => m.id === 9).length, 0, "the oversized request is not run");
  await expectAgentError(agent.call("no.such"), "E_USAGE");
  assert.equal((await agent.call("status")).version, null);
  assert.deepEqual(await agent.call("shutdown"), { ok: true });
  assert.deepEqual(await agent.exited, { code: 0, signal: null }, "shutdown ends it with stdin still open");
});

test("stdio: cancel, pause/resume and E_BUSY during a slow update; background jobs end with a job event", async (t) => {
  const r = await fixture(t);
  await update({ repoUrl: r.server.url, installDir: r.install, trust: [r.pub] });
  await r.publishVersion(2, { files: bigV2() });
  const slow = await startThrottledProxy(r.server.url, { bytesPerTick: 4096, tickMs: 40 });
  t.after(() => slow.close());
  const agent = startStdioAgent(t, [slow.url, r.install, "--trust", r.trust]);
  await agent.waitLine((m) => m.type === "hello");
  const downloading = (after: number) =>
    agent.waitEvent((e) => e.seq > after && e.event.type === "progress" && e.event.bytesDone > 0);

  // Foreground update, then cancel while it downloads: the install stays 1.0.0.
  agent.send('{"id":"u1","method":"update"}\n');
  await downloading(0);
  await expectAgentError(agent.call("update"), "E_BUSY");
  await expectAgentError(agent.call("repair"), "E_BUSY");
  assert.deepEqual(await agent.call("cancel"), { ok: true });
  const cancelled = await agent.answer("u1");
  assert.equal(cancelled.error.code, "E_ABORTED");
  assert.equal(cancelled.error.data.reason, "cancel");
  assert.equal((await agent.call("lifecycle")).state, "cancelled");
  assert.equal(await assertOldOrNew(r.install, [dlcBuild(1), bigV2()]), 0);

  // Background update, paused mid-download, then resumed: it ends with the job event and 2.0.0.
  const job = await agent.call("update", { background: true });
  assert.match(job.job, /^job-\d+$/);
  const at = agent.events.at(-1)?.seq ?? 0;
  await downloading(at);
  assert.deepEqual(await agent.call("pause"), { ok: true });
  const paused = await agent.waitEvent((e) => e.event.type === "job" && e.event.job === job.job);
  assert.equal(paused.event.error.code, "E_ABORTED");
  assert.equal(paused.event.error.data.reason, "pause");
  assert.equal((await agent.call("lifecycle")).state, "paused");
  const resumed = await agent.call("resume", { background: true });
  const end = await agent.waitEvent((e) => e.event.type === "job" && e.event.job === resumed.job, 60_000);
  assert.equal(end.event.method, "resume");
  assert.equal(end.event.result.version, "2.0.0");
  assert.equal(await assertOldOrNew(r.install, [dlcBuild(1), bigV2()]), 1);
  await expectAgentError(agent.call("resume"), "E_USAGE");
  agent.child.stdin.end();
  assert.equal((await agent.exited).code, 0);
});

test("stdio: a client that goes away mid-update (pipes closed) leaves old or new; the next agent run works", async (t) => {
  const r = await fixture(t);
  await update({ repoUrl: r.server.url, installDir: r.install, trust: [r.pub] });
  await r.publishVersion(2, { files: bigV2() });
  const slow = await startThrottledProxy(r.server.url, { bytesPerTick: 4096, tickMs: 40 });
  t.after(() => slow.close());
  const agent = startStdioAgent(t, [slow.url, r.install, "--trust", r.trust]);
  await agent.waitLine((m) => m.type === "hello");
  agent.send('{"id":1,"method":"update"}\n');
  await agent.waitEvent((e) => e.event.type === "progress" && e.event.bytesDone > 0);
  agent.child.stdin.destroy();
  agent.child.stdout.destroy();
  assert.deepEqual(await agent.exited, { code: 0, signal: null }, agent.stderr());
  await assertOldOrNew(r.install, [dlcBuild(1), bigV2()]);

  const again = startStdioAgent(t, [r.server.url, r.install, "--trust", r.trust]);
  assert.equal((await again.call("verify")).ok, true);
  assert.equal((await again.call("update")).version, "2.0.0");
  assert.equal(await assertOldOrNew(r.install, [dlcBuild(1), bigV2()]), 1);
  again.child.stdin.end();
  assert.equal((await again.exited).code, 0);
});

test("stdio: SIGTERM during an update cancels it, waits, and exits 0 with the install old or new", async (t) => {
  const r = await fixture(t);
  await update({ repoUrl: r.server.url, installDir: r.install, trust: [r.pub] });
  await r.publishVersion(2, { files: bigV2() });
  const slow = await startThrottledProxy(r.server.url, { bytesPerTick: 4096, tickMs: 40 });
  t.after(() => slow.close());
  const agent = startStdioAgent(t, [slow.url, r.install, "--trust", r.trust]);
  await agent.waitLine((m) => m.type === "hello");
  agent.send('{"id":1,"method":"update"}\n');
  await agent.waitEvent((e) => e.event.type === "progress" && e.event.bytesDone > 0);
  agent.child.kill("SIGTERM");
  const answer = await agent.answer(1);
  assert.equal(answer.error.code, "E_ABORTED", "the running update was cancelled and answered");
  assert.deepEqual(await agent.exited, { code: 0, signal: null }, agent.stderr());
  assert.equal(await assertOldOrNew(r.install, [dlcBuild(1), bigV2()]), 0);
});

test("stdio: --trust root.json and --check-interval: a second check within the interval makes no request", async (t) => {
  const r = await fixture(t);
  const agent = startStdioAgent(t, [
    r.server.url,
    r.install,
    "--trust",
    join(r.repo, "root", "1.json"),
    "--check-interval",
    "3600",
  ]);
  const first = await agent.call("check");
  assert.deepEqual([first.source, first.version], ["network", "1.0.0"]);
  const before = r.requests.length;
  const second = await agent.call("check");
  assert.deepEqual([second.source, second.stale], ["cache", false]);
  assert.equal(r.requests.length, before, "answered without a request");
  const asked = await agent.call("check", { maxAgeSeconds: 0 });
  assert.notEqual(asked.source, "cache");
  assert.ok(r.requests.length > before, "maxAgeSeconds 0 asks the repository");
  agent.child.stdin.end();
  assert.equal((await agent.exited).code, 0);
});
