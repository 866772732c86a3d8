import "../../src/register-node.js";
import assert from "node:assert/strict";
import { request } from "node:http";
import test from "node:test";
import { update } from "../../src/client/ops/update.js";
import { startThrottledProxy } from "../../src/testing/throttled-proxy.js";
import { dlcBuild } from "../helpers/content-fixture.js";
import { get } from "../helpers/raw-http.js";
import {
  assertOldOrNew,
  bigV2,
  expectAgentError,
  fixture,
  startHttpAgent,
  startStdioAgent,
  tour,
} from "./harness.js";
import type { Json } from "./harness.js";

test("http: prints {url, token} first, serves every method, and exits 0 on shutdown", async (t) => {
  const r = await fixture(t);
  const agent = await startHttpAgent(t, [r.server.url, r.install, "--trust", r.trust]);
  assert.match(agent.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  assert.match(agent.token, /^[A-Za-z0-9_-]{43}$/, "32 random bytes, base64url");
  await tour(agent.call, r, r.install, dlcBuild(1));
  const hello = await (
    await fetch(`${agent.url}v1/hello`, { headers: { "x-ferry-token": agent.token } })
  ).json();
  assert.equal((hello as { protocol: number }).protocol, 1);
  assert.deepEqual(await agent.call("shutdown"), { ok: true });
  assert.deepEqual(await agent.exited, { code: 0, signal: null }, agent.stderr());
});

test("http: token, Host and Origin checks; malformed, oversized and unknown requests", async (t) => {
  const r = await fixture(t);
  const agent = await startHttpAgent(t, [r.server.url, r.install, "--trust", r.trust]);
  const status = JSON.stringify({ method: "status" });
  const code = (reply: { status: number; body: Json }) => [reply.status, reply.body.error?.code];

  assert.deepEqual(code(await agent.post(status, {})), [401, "E_UNAUTHORIZED"], "no token");
  assert.deepEqual(code(await agent.post(status, { authorization: "Bearer wrong" })), [
    401,
    "E_UNAUTHORIZED",
  ]);
  assert.deepEqual(
    code(await agent.post(status, { authorization: `Bearer ${agent.token}x` })),
    [401, "E_UNAUTHORIZED"],
    "a longer token",
  );
  assert.deepEqual(code(await agent.post(status, { "x-ferry-token": agent.token })), [200, undefined]);
  assert.deepEqual(
    code(await agent.post(status, { authorization: `Bearer ${agent.token}`, origin: "http://127.0.0.1" })),
    [403, "E_FORBIDDEN"],
    "any Origin, even the agent's own",
  );
  const port = new URL(agent.url).port;
  const auth = { authorization: `Bearer ${agent.token}` };
  const rebinding = await get(agent.url, "/v1/hello", { ...auth, host: `evil.example:${port}` });
  assert.equal(rebinding.status, 403);
  assert.equal(JSON.parse(rebinding.body.toString()).error.code, "E_FORBIDDEN");
  assert.equal((await get(agent.url, "/v1/hello", { ...auth, host: `localhost:${port}` })).status, 200);
  assert.equal(
    (await get(agent.url, "/v1/hello", { ...auth, host: "127.0.0.1:1" })).status,
    403,
    "another port",
  );

  assert.deepEqual(code(await agent.post("{not json", auth)), [400, "E_PROTOCOL"]);
  assert.deepEqual(code(await agent.post("[1]", auth)), [400, "E_PROTOCOL"]);
  assert.deepEqual(code(await agent.post('{"params":{}}', auth)), [400, "E_PROTOCOL"]);
  assert.deepEqual(code(await agent.post('{"method":"nope"}', auth)), [400, "E_USAGE"]);
  assert.deepEqual(code(await agent.post('{"method":"status","params":{"x":1}}', auth)), [400, "E_USAGE"]);
  const big = JSON.stringify({ method: "status", params: { pad: "x".repeat(1024 * 1024) } });
  assert.deepEqual(code(await agent.post(big, auth)), [413, "E_TOO_LARGE"]);
  const unknown = await get(agent.url, "/v1/nothing", auth);
  assert.equal(unknown.status, 404);
  assert.equal(JSON.parse(unknown.body.toString()).error.code, "E_NOT_FOUND");
  assert.equal((await get(agent.url, "/v1/call", auth)).status, 404, "GET on the POST path");
  assert.equal((await get(agent.url, "/v1/events?timeout=99999999", auth)).status, 400);
  // After all that the agent still serves.
  assert.equal((await agent.call("status")).version, null);
  agent.child.kill("SIGTERM");
  assert.equal((await agent.exited).code, 0);
});

test("http: long-poll answers at once when events exist, waits otherwise; SSE delivers them with ids", async (t) => {
  const r = await fixture(t);
  const agent = await startHttpAgent(t, [r.server.url, r.install, "--trust", r.trust]);
  let started = Date.now();
  const empty = await agent.poll(0, 400);
  assert.deepEqual(empty, { events: [], next: 0 });
  assert.ok(Date.now() - started >= 350, "waited for the timeout");

  // A poll waiting when the check starts answers with its first event, long before its timeout.
  started = Date.now();
  const waiting = agent.poll(0, 20_000);
  await new Promise((res) => setTimeout(res, 100));
  const check = agent.call("check");
  const first = await waiting;
  assert.ok(Date.now() - started < 10_000);
  assert.equal(first.events[0]?.seq, 1);
  assert.equal(first.events[0]?.event.type, "state");
  await check;
  started = Date.now();
  const all = await agent.poll(0, 20_000);
  assert.ok(Date.now() - started < 2000, "events exist: no wait");
  assert.ok(all.events.length >= 3);
  assert.equal(all.next, all.events.at(-1)!.seq);
  assert.deepEqual(
    all.events.map((e) => e.seq),
    all.events.map((_, i) => i + 1),
  );
  const later = await agent.poll(all.next, 200);
  assert.deepEqual(later, { events: [], next: all.next });

  // SSE from Last-Event-ID 1: events 2.. with their ids and types.
  const sse = await new Promise<string>((resolve, reject) => {
    const req = request(
      `${agent.url}v1/events/stream`,
      { headers: { authorization: `Bearer ${agent.token}`, "last-event-id": "1" } },
      (res) => {
        assert.equal(res.headers["content-type"], "text/event-stream");
        let text = "";
        res.on("data", (d: Buffer) => {
          text += d.toString();
          if (text.split("\n\n").length > all.events.length - 1) {
            req.destroy();
            resolve(text);
          }
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
  const blocks = sse.split("\n\n").filter((b) => b.startsWith("id:"));
  assert.equal(blocks.length, all.events.length - 1);
  blocks.forEach((block, i) => {
    const e = all.events[i + 1]!;
    assert.deepEqual(block.split("\n"), [
      `id: ${e.seq}`,
      `event: ${e.event.type}`,
      `data: ${JSON.stringify(e.event)}`,
    ]);
  });
  agent.child.kill("SIGINT");
  assert.equal((await agent.exited).code, 0);
});

test("http: background update with job event, E_BUSY as 409, cancel; an aborted request cancels its update", async (t) => {
  const r = await fixture(t);
  await update({ repoUrl: r.server.url, installDir: r.install, trust: [r.pub] });
  await r.publishVersion(2, { files: bigV2() });
  const slow = await startThrottledProxy(r.server.url, { bytesPerTick: 4096, tickMs: 40 });
  t.after(() => slow.close());
  const agent = await startHttpAgent(t, [slow.url, r.install, "--trust", r.trust]);
  const job = await agent.call("update", { background: true });
  assert.match(job.job, /^job-\d+$/);
  await agent.waitEvent((e) => e.event.type === "progress" && e.event.bytesDone > 0);
  const busy = await expectAgentError(agent.call("ensure", { packages: ["hd-textures"] }), "E_BUSY");
  assert.equal(busy.status, 409);
  assert.equal(busy.body.data.running, "update");
  assert.deepEqual(await agent.call("cancel"), { ok: true });
  const ended = await agent.waitEvent((e) => e.event.type === "job" && e.event.job === job.job);
  assert.equal(ended.event.error.code, "E_ABORTED");
  assert.equal(await assertOldOrNew(r.install, [dlcBuild(1), bigV2()]), 0);

  // A foreground update whose client goes away mid-download is cancelled; the agent keeps serving.
  const controller = new AbortController();
  const call = fetch(`${agent.url}v1/call`, {
    method: "POST",
    headers: { authorization: `Bearer ${agent.token}` },
    body: JSON.stringify({ method: "update" }),
    signal: controller.signal,
  }).catch((error: unknown) => error);
  const seen = (await agent.poll(0, 0)).next;
  await agent.waitEvent((e) => e.seq > seen && e.event.type === "progress" && e.event.bytesDone > 0);
  controller.abort();
  await call;
  await agent.waitEvent((e) => e.seq > seen && e.event.type === "state" && e.event.state === "cancelled");
  assert.equal(await assertOldOrNew(r.install, [dlcBuild(1), bigV2()]), 0);
  assert.equal((await agent.call("lifecycle")).state, "cancelled");
  await agent.call("shutdown");
  assert.equal((await agent.exited).code, 0);

  // The next agent run (straight to the repository) finishes the update.
  const again = startStdioAgent(t, [r.server.url, r.install, "--trust", r.trust]);
  assert.equal((await again.call("update")).version, "2.0.0");
  assert.equal(await assertOldOrNew(r.install, [dlcBuild(1), bigV2()]), 1);
  again.child.stdin.end();
  assert.equal((await again.exited).code, 0);
});
