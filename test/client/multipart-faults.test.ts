import "../../src/register-node.js";
import assert from "node:assert/strict";
import { cp } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import type { UpdateEvent } from "../../src/client/events.js";
import { update } from "../../src/client/ops/update.js";
import { HttpTransport } from "../../src/node/http-transport.js";
import { rewriteParts } from "../../src/testing/hostile-behaviours.js";
import { type Behaviour, startHostileServer } from "../../src/testing/hostile-server.js";
import { assertTreeIs, v1InstallWithV2Published } from "../helpers/helpers.js";

/**
 * Every multi-range answer rewritten: a repeated part (longer than the ranges asked for) or an extra part
 * overlapping another with misplaced bytes. The update must still end exactly on v2, by degrading to
 * single ranges (a `range-mode` event), never keeping a misplaced byte.
 */
test("multi-range answers with repeated or overlapping parts degrade to single ranges and still arrive", async (t) => {
  const s = await v1InstallWithV2Published(t);
  let rewritten = 0;
  const edits: Record<string, Behaviour> = {
    "every part repeated (longer than asked for)": async (_exchange, context) => {
      const u = await context.upstream();
      return rewriteParts(u, (parts) => (rewritten++, [...parts, ...parts]));
    },
    "overlapping part with misplaced bytes": async (_exchange, context) => {
      const u = await context.upstream();
      return rewriteParts(u, (parts) => {
        rewritten++;
        const first = parts[0]!;
        return [
          { ...first, start: first.start + 1, data: first.data.subarray(0, first.data.length - 1) },
          ...parts,
        ];
      });
    },
  };
  for (const [name, behaviour] of Object.entries(edits)) {
    const hostile = await startHostileServer(s.server.url, behaviour);
    t.after(() => hostile.close());
    const install = join(s.dir, `install-${name.replace(/\W+/g, "-")}`);
    await cp(s.template, install, { recursive: true });
    const before = rewritten;
    const events: UpdateEvent[] = [];
    await update({
      repoUrl: hostile.url,
      installDir: install,
      trust: [s.pub],
      clock: { now: () => new Date(), sleep: async () => undefined },
      transport: new HttpTransport({ idleTimeoutMs: 2000 }),
      onEvent: (e) => void events.push(e),
    });
    await assertTreeIs(install, 2);
    assert.ok(
      rewritten > before,
      `${name}: no multi-range answer was rewritten (the case would prove nothing)`,
    );
    const modes = events.flatMap((e) => (e.type === "range-mode" ? [e.mode] : []));
    assert.deepEqual(modes, ["single"], `${name}: range modes ${modes.join(",")}`);
    t.diagnostic(`${name}: ${rewritten - before} answers rewritten; v2 exactly; range mode → single`);
  }
});
