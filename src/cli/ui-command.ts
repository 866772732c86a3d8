import { createUpdater, type LifecycleOptions } from "../client/ops/lifecycle.js";
import { NodeFileSystem } from "../node/node-fs.js";
import { serveUpdateScreen } from "../ui/ui-server.js";

/** `ferry ui`: serves the update screen for one install on 127.0.0.1 until SIGINT/SIGTERM. */
export async function runUpdateScreen(
  options: LifecycleOptions,
  port: number,
  print: (line: string) => void,
): Promise<void> {
  const updater = createUpdater(options);
  const screen = await serveUpdateScreen({
    updater,
    installDir: options.installDir,
    fs: options.fs ?? new NodeFileSystem(),
    port,
  });
  print(`Update screen for ${options.installDir} at ${screen.url} (Ctrl-C to stop)`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      updater.cancel();
      void screen.close().then(resolve);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}
