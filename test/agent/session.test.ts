import "../../src/register-node.js";
import assert from "node:assert/strict";
import { join } from "node:path";
import test from "node:test";
import { EventLog } from "../../src/agent/event-log.js";
import { callMethod } from "../../src/agent/methods.js";
import { parseRequest } from "../../src/agent/protocol.js";
import { AgentSession } from "../../src/agent/session.js";
import { isFerryError } from "../../src/core/errors.js";
import { dlcRepository } from "../helpers/content-fixture.js";
import { expectCode, expectCodeAsync } from "../helpers/helpers.js";

test("event log: seq from 1, a ring of the newest entries, dropped when `after` is older than the ring", () => {
  const log = new EventLog(4);
  assert.deepEqual(log.after(0), { events: [], next: 0 });
  for (let i = 0; i < 6; i++) log.append({ type: "t", i });
  const page = log.after(0);
  assert.deepEqual(
    page.events.map((e) => e.seq),
    [3, 4, 5, 6],
  );
  assert.equal(page.next, 6);
  assert.equal(page.dropped, true, "1 and 2 are gone");
  assert.equal(log.after(2).dropped, undefined, "nothing after 2 was dropped");
  assert.deepEqual(
    log.after(4).events.map((e) => e.seq),
    [5, 6],
  );
  assert.deepEqual(log.after(6), { events: [], next: 6 });
});

test("event log: wait answers at once with kept events, else on the next append, else after the timeout", async () => {
  const log = new EventLog();
  let started = Date.now();
  assert.deepEqual(await log.wait(0, 150), { events: [], next: 0 });
  assert.ok(Date.now() - started >= 140);
  log.append({ type: "a" });
  started = Date.now();
  assert.equal((await log.wait(0, 10_000)).events.length, 1);
  assert.ok(Date.now() - started < 1000, "no wait when events exist");
  const waiting = log.wait(1, 10_000);
  setTimeout(() => log.append({ type: "b" }), 50);
  const page = await waiting;
  assert.deepEqual(
    page.events.map((e) => [e.seq, e.event.type]),
    [[2, "b"]],
  );
  const gone = new AbortController();
  const aborted = log.wait(2, 10_000, gone.signal);
  gone.abort();
  assert.deepEqual(await aborted, { events: [], next: 2 });
});

test("protocol: parseRequest refuses what is not a request, with the id when one was read", () => {
  assert.deepEqual(parseRequest('{"id":"a","method":"m"}', "line", true), {
    id: "a",
    method: "m",
    params: {},
  });
  assert.deepEqual(parseRequest('{"method":"m","params":null}', "body", false), {
    id: 0,
    method: "m",
    params: {},
  });
  for (const text of ["", "nope", "1", '"s"', "null", "[]", '{"method":"m"}', '{"id":{},"method":"m"}'])
    expectCode(() => parseRequest(text, "line", true), "E_PROTOCOL");
  const e = expectCode(() => parseRequest('{"id":5,"method":"m","params":"x"}', "line", true), "E_PROTOCOL");
  assert.equal(e.data.id, 5);
});

test("session: simulate modes drive the lifecycle with progress; E_BUSY while one runs; params are checked", async (t) => {
  const r = await dlcRepository(t);
  const session = new AgentSession({
    repoUrl: r.server.url,
    mirrors: [],
    installDir: join(r.dir, "install"),
    trust: [r.pub],
    checkIntervalSeconds: 0,
    ferryVersion: "test",
  });
  t.after(() => session.close());
  const events: string[] = [];
  session.log.subscribe((e) =>
    events.push(e.event.type === "state" ? `state:${String(e.event.state)}` : e.event.type),
  );
  const job = (await callMethod(session, "update", { simulate: "available", background: true })) as {
    job: string;
  };
  assert.equal(job.job, "job-1");
  await expectCodeAsync(() => callMethod(session, "update", {}), "E_BUSY");
  await expectCodeAsync(() => callMethod(session, "check", {}), "E_BUSY");
  await expectCodeAsync(() => callMethod(session, "repair", {}), "E_BUSY");
  assert.equal(((await callMethod(session, "lifecycle", {})) as { state: string }).state, "downloading");
  const end = await new Promise<Record<string, unknown>>((resolve) =>
    session.log.subscribe((e) => {
      if (e.event.type === "job") resolve(e.event);
    }),
  );
  assert.equal(end.method, "update");
  assert.equal((end.result as { version: string }).version, "1.1.0");
  assert.ok(events.includes("progress"));
  assert.deepEqual(
    events.filter((e) => e.startsWith("state:")),
    ["state:downloading", "state:verifying", "state:applying", "state:done"],
  );

  const notAvailable = (await callMethod(session, "check", { simulate: "not_available" })) as Record<
    string,
    unknown
  >;
  assert.equal(notAvailable.updateAvailable, false);
  await expectCodeAsync(() => callMethod(session, "check", { simulate: "maybe" }), "E_USAGE");
  await expectCodeAsync(() => callMethod(session, "check", { maxAgeSeconds: -1 }), "E_USAGE");
  await expectCodeAsync(() => callMethod(session, "mounts.add", { name: "m", uri: "/x" }), "E_USAGE");
  await expectCodeAsync(() => callMethod(session, "ensure", { packages: "hd" }), "E_USAGE");
  await expectCodeAsync(() => callMethod(session, "toString", {}), "E_USAGE");
  await expectCodeAsync(() => callMethod(session, "verify", {}), "E_NOT_INSTALLED");

  // The repository is gone: check answers from the cache, marked stale.
  await r.publishVersion(1);
  const fresh = (await callMethod(session, "check", {})) as Record<string, unknown>;
  assert.equal(fresh.stale, false);
  const cached = (await callMethod(session, "check", { maxAgeSeconds: 3600 })) as Record<string, unknown>;
  assert.deepEqual([cached.source, cached.stale], ["cache", false], "within maxAgeSeconds: no request");
  await r.server.close();
  const offline = (await callMethod(session, "check", {})) as Record<string, unknown>;
  assert.deepEqual([offline.source, offline.stale, offline.version], ["offline", true, "1.0.0"]);
  try {
    await callMethod(session, "update", {});
    assert.fail("update without a server");
  } catch (error) {
    assert.ok(isFerryError(error) && error.code !== "E_BUSY", String(error));
  }
});
