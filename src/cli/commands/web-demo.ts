import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";
import { FerryError } from "../../core/errors.js";
import { trustToJson } from "../../web/trust-json.js";
import { type Command, need, portNumber, str } from "../command.js";
import { listenError } from "../listen-error.js";
import { CHANNEL_OPTION, TRUST_OPTIONS, trustOf } from "../option-groups.js";

/** dist/web beside the compiled CLI (dist/src/cli/commands or dist/lib/cli/commands → dist/web). */
const WEB_DIR = fileURLToPath(new URL("../../../web/", import.meta.url));

const FILES: Readonly<Record<string, string>> = {
  "/ferry-web.js": "text/javascript; charset=utf-8",
  "/ferry-web.js.map": "application/json",
  "/ferry-sw.js": "text/javascript; charset=utf-8",
  "/ferry-sw.js.map": "application/json",
};

export const webDemoCommand: Command = {
  name: "web-demo",
  summary: "serve a page on localhost that runs the browser runtime against a repository (docs/WEB.md)",
  usage: ["<repo-url> --trust <root.pub|root.json> [--channel stable] [--port 0]"],
  arguments: [["<repo-url>", "the repository's base URL (another origin: it must send CORS headers)"]],
  maxPositionals: 1,
  options: {
    ...TRUST_OPTIONS,
    ...CHANNEL_OPTION,
    port: { type: "string", value: "<n>", description: "port on 127.0.0.1 (default 0: any free port)" },
  },
  examples: ["web-demo https://cdn.example.com/mygame/ --trust keys/root.pub --port 8095"],
  interrupt: "stop",
  async run({ values, positionals, signal }) {
    const command = "web-demo";
    const repoUrl = need(positionals[0], "<repo-url>", command);
    if (!URL.canParse(repoUrl) || !/^https?:$/.test(new URL(repoUrl).protocol)) {
      throw new FerryError("E_USAGE", `${JSON.stringify(repoUrl)} is not an http(s) repository URL.`, {
        url: repoUrl,
      });
    }
    const port = portNumber(str(values, "port"), 0, command);
    const channel = str(values, "channel") ?? "stable";
    const trust = trustToJson(await trustOf(values, command));
    const assets = await loadAssets();
    const page = demoPage({ repoUrl: repoUrl.endsWith("/") ? repoUrl : `${repoUrl}/`, channel, trust });
    const server = createServer((request, response) => answer(request, response, page, assets));
    await new Promise<void>((resolve, reject) => {
      server.once("error", (error) => reject(listenError(error, "127.0.0.1", port, "the web demo")));
      server.listen(port, "127.0.0.1", () => resolve());
    });
    const address = server.address();
    const bound = typeof address === "object" && address ? address.port : port;
    process.stdout.write(`http://localhost:${bound}/\n`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        server.closeAllConnections();
        server.close(() => resolve());
      };
      if (signal.aborted) stop();
      else signal.addEventListener("abort", stop, { once: true });
    });
    return 0;
  },
};

async function loadAssets(): Promise<Map<string, Uint8Array>> {
  const assets = new Map<string, Uint8Array>();
  for (const name of Object.keys(FILES)) {
    try {
      assets.set(name, await readFile(`${WEB_DIR}${name.slice(1)}`));
    } catch (cause) {
      if (name.endsWith(".map")) continue;
      throw new FerryError(
        "E_USAGE",
        `The browser runtime is not built (${WEB_DIR}${name.slice(1)} is missing): run 'npm run build:web' in the Ferry checkout.`,
        { path: `${WEB_DIR}${name.slice(1)}` },
        { cause },
      );
    }
  }
  return assets;
}

function answer(
  request: IncomingMessage,
  response: ServerResponse,
  page: string,
  assets: ReadonlyMap<string, Uint8Array>,
): void {
  const path = new URL(request.url ?? "/", "http://localhost").pathname;
  const headers = { "cache-control": "no-cache", "x-content-type-options": "nosniff" };
  if (request.method !== "GET" && request.method !== "HEAD") {
    response.writeHead(405, { ...headers, allow: "GET, HEAD" }).end();
    return;
  }
  if (path === "/" || path === "/index.html") {
    response.writeHead(200, { ...headers, "content-type": "text/html; charset=utf-8" }).end(page);
    return;
  }
  const asset = assets.get(path);
  if (asset) {
    response.writeHead(200, { ...headers, "content-type": FILES[path]! }).end(asset);
    return;
  }
  // /game/... is the service worker's; reaching the server means no worker controls the page yet.
  response
    .writeHead(404, { ...headers, "content-type": "text/plain; charset=utf-8" })
    .end(
      path.startsWith("/game/")
        ? `${path}: no service worker answered (the page is not controlled yet, or nothing is installed).\n`
        : `${path}: not found.\n`,
    );
}

function demoPage(config: unknown): string {
  // JSON inside a <script>: '<' escaped so no "</script>" can end it early.
  const json = JSON.stringify(config).replace(/</g, "\\u003c");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Ferry web demo</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:48rem}</style>
</head>
<body>
<h1>Ferry web demo</h1>
<p>The installed release's files are served at <code>/game/&lt;path&gt;</code>; the runtime is <code>window.ferry</code>.</p>
<main id="ferry-update"></main>
<script type="module">
import { bootDemo } from "/ferry-web.js";
bootDemo(${json}, document.getElementById("ferry-update"));
</script>
</body>
</html>
`;
}
