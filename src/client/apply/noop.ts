import { canonicalJson } from "../../core/canonical-json.js";
import type { Context } from "../context.js";
import { withContent } from "../install/content.js";
import { encodeState, type InstallState } from "../install/state.js";
import { saveStats } from "../install/stat-cache.js";
import { cacheEntry } from "../plan/local-index.js";
import type { Prepared } from "../plan/prepare.js";
import { cleanup } from "./cleanup.js";

/**
 * An update with nothing to write or delete (isNoop). Remembers a newer serial (re-signed pointer:
 * rollback protection), a newer root (rotated keys), and refreshed stat-cache entries (e.g. after the
 * install was copied), so the next run does not re-hash. An incremental no-op looked at no file: the stat
 * cache stays as it is. Then removes staging left by a run that failed after its commit.
 */
export async function commitNoop(ctx: Context, p: Prepared): Promise<void> {
  const { pointer, state } = p;
  let installed: InstallState | undefined = state;
  const files = p.carry
    ? state!.files
    : Object.fromEntries(p.plan.keep.map((path) => [path, cacheEntry(p.local.stats.get(path)!)]));
  if (
    state &&
    (pointer.body.serial !== state.serial ||
      pointer.body.channel !== state.channel ||
      canonicalJson(p.root.document) !== canonicalJson(state.root) ||
      (files !== state.files && canonicalJson(files) !== canonicalJson(state.files)) ||
      canonicalJson(withContent(state, p.content)) !== canonicalJson(state))
  ) {
    const statCache = p.carry ? undefined : await saveStats(ctx, files);
    installed = {
      ...withContent(state, p.content),
      channel: pointer.body.channel,
      serial: pointer.body.serial,
      pointer: pointer.document,
      root: p.root.document,
      ...(statCache ? { files: {}, statCache } : { files }),
    };
    await ctx.fs.writeFileAtomic(ctx.layout.state, encodeState(installed));
  }
  // An incremental no-op leaves kept objects alone (listing them reads every directory object; the next
  // commit's cleanup prunes them).
  await cleanup(ctx, pointer.body.manifest.hash, p.carry ? undefined : p.objects, installed);
}
