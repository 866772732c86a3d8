/**
 * The host port: what the client needs of the process it runs in. The Node implementation is
 * src/node/node-host.ts; another runtime (a browser, a console SDK) supplies its own.
 */
export interface Host {
  /** `bytes` random bytes as lowercase hex (unique names for temporary files, tokens, install ids). */
  randomId(bytes: number): string;
  /** This process's id and host name: the install lock records them to find a dead holder. */
  readonly pid: number;
  hostname(): string;
  /** Is process `pid` on this host still running? (An unknown answer counts as alive.) */
  processAlive(pid: number): boolean;
  /** The caller's path (e.g. the install directory) made absolute, in the host's own path syntax. */
  absolutePath(path: string): string;
}
