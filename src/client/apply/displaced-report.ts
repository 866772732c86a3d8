import type { Context } from "../context.js";
import type { Displacement } from "./displaced.js";
import type { InstallState } from "../install/state.js";
import { appendUpdateLog } from "../install/update-log.js";

/** Says where each displaced file went: one event per file and one update-log line (docs/FORMAT.md §7). */
export async function reportDisplaced(
  ctx: Context,
  displaced: Displacement,
  state: InstallState,
): Promise<void> {
  for (const path of displaced.paths) {
    ctx.emit({ type: "displaced", path, to: ctx.layout.displaced(displaced.dir, path) });
  }
  const where = ctx.layout.displaced(displaced.dir, "");
  const shown = displaced.paths.slice(0, 5).join(", ") + (displaced.paths.length > 5 ? ", ..." : "");
  await appendUpdateLog(ctx, {
    kind: "displaced",
    code: "DISPLACED",
    message: `${state.version} ships ${displaced.paths.length} path(s) where untracked files were (${shown}). They were moved to ${where}, which Ferry never removes: move back what you need.`,
    version: state.version,
    release: state.manifest.hash,
  });
}
