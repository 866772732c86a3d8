import { createUpdater, type LifecycleOptions } from "../client/ops/lifecycle.js";
import { NodeFileSystem } from "../node/node-fs.js";
import { serveUpdateScreen } from "../ui/ui-server.js";
import { listenError } from "./listen-error.js";

/** `ferry ui`: serves the update screen for one install on 127.0.0.1 until `stop` is aborted (Ctrl-C). */
export async function runUpdateScreen(
  options: LifecycleOptions,
  port: number,
  print: (line: string) => void,
  stop: AbortSignal,
): Promise<void> {
  const updater = createUpdater(options);
  const screen = await serveUpdateScreen({
    updater,
    installDir: options.installDir,
    fs: options.fs ?? new NodeFileSystem(),
    port,
  }).catch((error: unknown) => {
    throw listenError(error, "127.0.0.1", port, "the update screen");
  });
  print(`Update screen for ${options.installDir} at ${screen.url} (Ctrl-C to stop)`);
  await new Promise<void>((resolve) => {
    const close = () => {
      updater.cancel();
      void screen.close().then(resolve);
    };
    if (stop.aborted) close();
    else stop.addEventListener("abort", close, { once: true });
  });
}
