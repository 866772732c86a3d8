import type { SignedPointer } from "../../core/pointer.js";
import type { Context } from "../context.js";
import { requireState } from "../install/read-state.js";
import { encodeState, type InstallState } from "../install/state.js";
import { loadInstalledManifest } from "../plan/installed-release.js";
import { readPrevious, rollbackLocked, type RollbackOutcome } from "./previous.js";

/** Why a rollback happened: the code recorded in the update log and in the block. */
export type RollbackCode = "ROLLBACK_CRASH_LOOP" | "ROLLBACK_REQUESTED" | "ROLLBACK_HALTED";

export interface RollbackResult extends RollbackOutcome {
  readonly code: RollbackCode;
  readonly message: string;
}

/**
 * Rolls back, logs it and (unless `block` is false) blocks the release rolled back from, so the next
 * update does not install it again; a newer release is a different manifest and is not blocked.
 * Under the lock; `state` is the installed state (read by the caller).
 */
export async function rollbackAndBlock(
  ctx: Context,
  state: InstallState,
  code: RollbackCode,
  why: string,
  block = true,
): Promise<RollbackResult> {
  const current = await loadInstalledManifest(ctx, state);
  // The log entry and the block are written inside the journaled commit (rollback-record.ts).
  const outcome = await rollbackLocked(ctx, state, current, { code, why, block });
  return { ...outcome, code };
}

/**
 * A halted pointer sends this install back to `pointer`'s release: when that is the previous release
 * kept here, restore it locally (no download, not blocked: the publisher may name it again), then
 * remember the halting pointer's serial. Undefined when the kept release is another one.
 */
export async function haltToPrevious(
  ctx: Context,
  state: InstallState,
  pointer: SignedPointer,
  root: unknown,
): Promise<RollbackResult | undefined> {
  const record = await readPrevious(ctx, state);
  if (!record || record.state.manifest.hash !== pointer.body.manifest.hash) return undefined;
  const result = await rollbackAndBlock(
    ctx,
    state,
    "ROLLBACK_HALTED",
    `the publisher halted ${state.version} on channel '${pointer.body.channel}' (serial ${pointer.body.serial}).`,
    false,
  );
  const restored = await requireState(ctx);
  await ctx.fs.writeFileAtomic(
    ctx.layout.state,
    encodeState({ ...restored, serial: pointer.body.serial, pointer: pointer.document, root }),
  );
  return result;
}
