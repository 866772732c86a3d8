import { canonicalJson } from "../../core/canonical-json.js";
import type { Context } from "../context.js";
import { encodeState, type InstallState } from "../install/state.js";

/**
 * An operation that found nothing to write or delete still remembers what it learned (a fresh stat
 * cache, a new package selection): `next` replaces the install state when it differs from `current`.
 * One atomic write; the install's files are untouched.
 */
export async function refreshState(ctx: Context, current: InstallState, next: InstallState): Promise<void> {
  if (canonicalJson(next) !== canonicalJson(current))
    await ctx.fs.writeFileAtomic(ctx.layout.state, encodeState(next));
}
