import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  isBusy,
  LIFECYCLE_STATES,
  type LifecycleInput,
  type LifecycleState,
  RateMeter,
  transition,
} from "../../src/core/lifecycle.js";

const INPUTS: readonly LifecycleInput[] = [
  "check",
  "found-update",
  "found-none",
  "download",
  "downloaded",
  "applying",
  "applied",
  "fail",
  "cancel",
  "pause",
  "resume",
  "rolled-back",
  "reset",
];

function run(inputs: readonly LifecycleInput[], from: LifecycleState = "idle"): LifecycleState {
  let state = from;
  for (const input of inputs) {
    const next = transition(state, input);
    assert.ok(next, `'${input}' refused in '${state}'`);
    state = next;
  }
  return state;
}

test("a check then an update walk every phase in order", () => {
  assert.equal(run(["check", "found-update"]), "available");
  assert.equal(run(["check", "found-none"]), "up-to-date");
  assert.equal(run(["check", "found-update", "download", "downloaded", "applying", "applied"]), "done");
  assert.equal(run(["check", "fail"]), "failed");
  // An update that finds the release already installed ends without verifying or applying.
  assert.equal(run(["download", "applied"]), "done");
});

test("cancel is accepted in every busy phase but applying, where the commit rolls forward", () => {
  const reach: Record<string, LifecycleInput[]> = {
    checking: ["check"],
    downloading: ["download"],
    verifying: ["download", "downloaded"],
  };
  for (const [phase, path] of Object.entries(reach)) {
    assert.equal(run(path), phase);
    assert.equal(run([...path, "cancel"]), "cancelled", phase);
  }
  const applying = run(["download", "downloaded", "applying"]);
  assert.equal(transition(applying, "cancel"), "applying");
  assert.equal(transition(applying, "pause"), "applying");
  assert.equal(run(["download", "downloaded", "applying", "cancel", "applied"]), "done");
});

test("pause keeps the download resumable; a pause while checking is a cancel", () => {
  assert.equal(run(["download", "pause"]), "paused");
  assert.equal(run(["download", "downloaded", "pause"]), "paused");
  assert.equal(run(["download", "pause", "resume"]), "downloading");
  assert.equal(run(["download", "pause", "cancel"]), "cancelled");
  assert.equal(run(["check", "pause"]), "cancelled");
  assert.equal(transition("paused", "downloaded"), undefined);
});

test("resting states accept a new check or update, busy states do not", () => {
  for (const state of LIFECYCLE_STATES) {
    assert.equal(transition(state, "check") !== undefined, !isBusy(state), state);
    assert.equal(transition(state, "download") !== undefined, !isBusy(state), state);
  }
  assert.equal(transition("idle", "cancel"), undefined);
  assert.equal(transition("done", "rolled-back"), "rolled-back");
});

test("property: any accepted sequence ends in a known state; done is reached only through applying", () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...INPUTS), { maxLength: 40 }), (inputs) => {
      let state: LifecycleState = "idle";
      let previous: LifecycleState = "idle";
      for (const input of inputs) {
        const next = transition(state, input);
        if (next === undefined) continue;
        if (next === "done") assert.ok(state === "applying" || state === "downloading", `${state} -> done`);
        if (state === "applying") assert.ok(["applying", "done", "failed"].includes(next));
        previous = state;
        state = next;
      }
      assert.ok(LIFECYCLE_STATES.includes(state));
      assert.ok(LIFECYCLE_STATES.includes(previous));
    }),
  );
});

test("the rate meter measures speed over its window and an ETA from it", () => {
  const meter = new RateMeter(5000);
  assert.equal(meter.bytesPerSecond(), undefined);
  meter.add(0, 0);
  assert.equal(meter.bytesPerSecond(), undefined);
  meter.add(1000, 1000);
  meter.add(2000, 2000);
  assert.equal(meter.bytesPerSecond(), 1000);
  assert.equal(meter.etaSeconds(10_000), 8);
  // After a stall longer than the window, the old fast samples no longer count.
  meter.add(9000, 2000);
  meter.add(10_000, 2500);
  assert.ok(meter.bytesPerSecond()! < 1000, String(meter.bytesPerSecond()));
  meter.reset();
  assert.equal(meter.etaSeconds(1), undefined);
});
