import { FerryError } from "../core/errors.js";

/** A server's listen failure as one FerryError: the address, the system's reason, and what to do. */
export function listenError(error: unknown, host: string, port: number, what: string): unknown {
  // A FerryError of the server (E_NETWORK with data.systemCode) gets the same advice.
  const code =
    error instanceof FerryError ? error.data.systemCode : (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return error;
  const advice =
    code === "EADDRINUSE"
      ? `port ${port} is already in use by another program: choose another --port, or --port 0 for any free port`
      : code === "EACCES"
        ? `this user may not listen on port ${port} (ports below 1024 need privileges): choose a port above 1024`
        : code === "EADDRNOTAVAIL"
          ? `${host} is not an address of this machine: choose another --host`
          : "choose another port or host";
  return new FerryError(
    "E_NETWORK",
    `Cannot serve ${what} on ${host}:${port} (${code}): ${advice}.`,
    { host, port, systemCode: code },
    { cause: error },
  );
}
