import type { UpdateEvent } from "../client/events.js";
import type { FileSystem } from "../ports/fs.js";

/** What a hook may wrap for one CLI operation: its file system and its event sink. */
export interface OperationHooks {
  readonly fs?: FileSystem;
  readonly onEvent: (event: UpdateEvent) => void;
}

export type HookFactory = (installDir: string, onEvent: (event: UpdateEvent) => void) => OperationHooks;

/**
 * A seam for child-process tests: a module preloaded with `node --import` (src/testing/kill-hooks.ts)
 * sets a factory before the CLI runs. The CLI itself imports no test code and has no test switches; with
 * no factory set, every operation runs with the Node file system and its own event sink.
 */
let factory: HookFactory | undefined;

export function setOperationHooks(hooks: HookFactory): void {
  factory = hooks;
}

export function operationHooks(installDir: string, onEvent: (event: UpdateEvent) => void): OperationHooks {
  return factory ? factory(installDir, onEvent) : { onEvent };
}
