import { formatListenMessage, serveRepository } from "../../server/static-server.js";
import { type Command, need, portNumber, str } from "../command.js";
import { listenError } from "../listen-error.js";

export const serveCommand: Command = {
  name: "serve",
  summary: "serve a repository folder over HTTP for development (ranges, ETag, Cache-Control)",
  usage: ["<repo-dir> [--host 127.0.0.1] [--port 8080]"],
  arguments: [["<repo-dir>", "the repository folder"]],
  maxPositionals: 1,
  options: {
    host: { type: "string", value: "<host>", description: "the address to listen on (default 127.0.0.1)" },
    port: { type: "string", value: "<n>", description: "the port (default 8080; 0: any free port)" },
  },
  examples: ["serve repo/ --port 8080"],
  interrupt: "stop",
  async run({ values, positionals, signal }) {
    const command = "serve";
    const port = portNumber(str(values, "port"), 8080, command);
    const root = need(positionals[0], "<repo-dir>", command);
    const host = str(values, "host") ?? "127.0.0.1";
    const server = await serveRepository({ root, host, port }).catch((error: unknown) => {
      throw listenError(error, host, port, `the repository ${root}`);
    });
    process.stdout.write(`${formatListenMessage(server.url)}\n`);
    await new Promise<void>((resolve) => {
      const stop = () => void server.close().then(resolve);
      if (signal.aborted) stop();
      else signal.addEventListener("abort", stop, { once: true });
    });
    return 0;
  },
};
