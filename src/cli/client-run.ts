/** What the install commands share: the event sink (JSON lines or the progress renderer) and the test seam. */
import type { UpdateEvent } from "../client/events.js";
import type { FileSystem } from "../ports/fs.js";
import { out } from "./command.js";
import { operationHooks } from "./operation-hooks.js";
import { ProgressRenderer } from "./render.js";

export interface EventOutput {
  readonly renderer: ProgressRenderer;
  readonly onEvent: (event: UpdateEvent) => void;
}

/** --json: every event as a JSON line on stdout; otherwise progress on stderr. */
export function eventOutput(json: boolean): EventOutput {
  const renderer = new ProgressRenderer(process.stderr);
  return { renderer, onEvent: (event) => (json ? out(event) : renderer.handle(event)) };
}

/** The operation's file system and event sink, as a preloaded test hook may wrap them (operation-hooks.ts). */
export async function testHooks(
  installDir: string,
  onEvent: (event: UpdateEvent) => void,
): Promise<{ fs?: FileSystem; onEvent: (event: UpdateEvent) => void }> {
  return operationHooks(installDir, onEvent);
}
