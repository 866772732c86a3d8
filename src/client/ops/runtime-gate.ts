import { joinPath } from "../paths.js";
import { parseJson } from "../../core/json-reader.js";
import { setAsideRoot, setAsideStaleRelease } from "../apply/set-aside.js";
import { withInstall } from "../apply/with-install.js";
import { readStoredState } from "../install/state.js";
import { type ClientDeps, type InstallOptions, makeContext } from "../context.js";
import { checkRuntimeName } from "../../core/names.js";
import type { SetAsideRecord } from "../plan/runtime.js";

/**
 * For an app at startup, before it resolves content: sets a release made for another runtime aside
 * (no network). Returns the record, or undefined when the installed release fits (or nothing is installed).
 */
export async function applyRuntimeGate(
  options: ClientDeps & { readonly installDir: string; readonly runtime: string },
): Promise<SetAsideRecord | undefined> {
  checkRuntimeName(options.runtime);
  const ctx = makeContext(options.installDir, options);
  return withInstall(ctx, options, async () =>
    setAsideStaleRelease(ctx, options.runtime, await readStoredState(ctx.fs, ctx.layout)),
  );
}

/** Set-aside records of an install, oldest first. */
export async function listSetAside(options: InstallOptions): Promise<SetAsideRecord[]> {
  const { installDir, ...deps } = options;
  const ctx = makeContext(installDir, deps);
  const out: SetAsideRecord[] = [];
  for (const name of (await ctx.fs.readdir(setAsideRoot(ctx))).sort()) {
    const path = joinPath(setAsideRoot(ctx), name, "record.json");
    if ((await ctx.fs.stat(path))?.kind === "file")
      out.push(parseJson(path, await ctx.fs.readFile(path)) as SetAsideRecord);
  }
  return out;
}
