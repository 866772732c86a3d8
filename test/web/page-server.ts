/** A loopback origin serving an empty page and dist/web/ferry-web.js, for tests that drive the runtime directly. */
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

export async function pageServer(webDir: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.url === "/ferry-web.js") {
      void readFile(join(webDir, "ferry-web.js")).then(
        (js) => res.writeHead(200, { "content-type": "text/javascript" }).end(js),
        () => res.writeHead(404).end(),
      );
    } else res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>ferry</title>");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
