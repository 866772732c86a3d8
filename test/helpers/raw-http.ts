import { type IncomingHttpHeaders, request } from "node:http";

/** Raw HTTP for server tests: the path is sent exactly as given (fetch would normalise `..` and `%2e%2e`). */
export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Set when the connection broke before the declared body arrived. */
  error?: string;
}

/** Collects whatever arrives, including a body cut short by a dropped connection. */
export function get(
  base: string,
  path: string,
  headers: Record<string, string> = {},
  method = "GET",
): Promise<Reply> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path, method, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        const reply = (error?: string): void => {
          const base = { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) };
          resolve(error === undefined ? base : { ...base, error });
        };
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => reply());
        res.on("error", (e) => reply((e as { code?: string }).code ?? e.message));
        res.on("aborted", () => reply("aborted"));
      },
    );
    req.on("error", reject);
    req.end();
  });
}
