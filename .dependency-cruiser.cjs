/**
 * The layers of docs/ARCHITECTURE.md §2, checked by `npm run deps` (part of `npm run check`).
 * Type-only imports count (tsPreCompilationDeps): a type circle is still a circle between concepts.
 * Client layers: ops -> apply -> plan -> {install, remote}; the client root files (context, events, ...)
 * may be imported by every client folder.
 */
const CLIENT_ROOT = "^src/client/[^/]+\\.ts$";
const CORE_PORTS = "^src/(core|ports)/";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "Import circles hide which module owns a concept: move the shared piece to where it belongs.",
      from: {},
      to: { circular: true },
    },
    {
      name: "core-only-core",
      severity: "error",
      comment:
        "core: formats, planner, codecs; no I/O, no Node, nothing outside core but the interfaces of the ports it is handed (crypto, codec).",
      from: { path: "^src/core/" },
      to: { pathNot: ["^src/core/", "^src/ports/(crypto|codec|core-ports)\\.ts$"] },
    },
    {
      name: "core-ports-types-only",
      severity: "error",
      comment:
        "core imports only the types of its ports (docs/ARCHITECTURE.md, Portable core); the code is the host's.",
      from: { path: "^src/core/" },
      to: { path: "^src/ports/", dependencyTypesNot: ["type-only"] },
    },
    {
      name: "core-ports-standalone",
      severity: "error",
      comment: "the ports core uses import nothing but each other, so core and ports form no cycle.",
      from: { path: "^src/ports/(crypto|codec|core-ports)\\.ts$" },
      to: { pathNot: "^src/ports/(crypto|codec)\\.ts$" },
    },
    {
      name: "ports-only-core-ports",
      severity: "error",
      comment: "ports are small interfaces over core types.",
      from: { path: "^src/ports/" },
      to: { pathNot: CORE_PORTS },
    },
    {
      name: "node-adapters-not-above",
      severity: "error",
      comment: "The Node adapters implement ports; they know nothing of the client, publisher or CLI.",
      from: { path: "^src/node/" },
      to: { path: "^src/(client|publisher|cli)/" },
    },
    {
      name: "client-no-node",
      severity: "error",
      comment: "The client runs anywhere: Node is reached through ports, wired at the entry points.",
      from: { path: "^src/client/" },
      to: { dependencyTypes: ["core"] },
    },
    {
      name: "client-not-outside",
      severity: "error",
      comment: "The client uses ports, never adapters, publisher, CLI, server, UI or test helpers.",
      from: { path: "^src/client/" },
      to: { path: "^src/(node|publisher|cli|server|ui|testing)/" },
    },
    {
      name: "browser-no-node",
      severity: "error",
      comment:
        "The browser runtime (src/web) and its adapters (src/browser) are bundled for browsers: no builtins.",
      from: { path: "^src/(web|browser)/" },
      to: { dependencyTypes: ["core"] },
    },
    {
      name: "browser-not-outside",
      severity: "error",
      comment:
        "The browser runtime reuses core, ports and client; never Node adapters, publisher, CLI or server.",
      from: { path: "^src/(web|browser)/" },
      to: { path: "^src/(node|publisher|cli|server|testing|agent|mounts|entries)/|^src/register-node\\.ts$" },
    },
    {
      name: "client-install-remote",
      severity: "error",
      comment: "install/ (the .ferry/ files) and remote/ (the repository) sit at the bottom of the client.",
      from: { path: "^src/client/(install|remote)/" },
      to: { dependencyTypesNot: ["core"], pathNot: [CORE_PORTS, CLIENT_ROOT, "^src/client/$1/"] },
    },
    {
      name: "client-plan",
      severity: "error",
      comment: "plan/ (inputs to the pure planner) reads the install and the remote.",
      from: { path: "^src/client/plan/" },
      to: {
        dependencyTypesNot: ["core"],
        pathNot: [CORE_PORTS, CLIENT_ROOT, "^src/client/(plan|install|remote)/"],
      },
    },
    {
      name: "client-apply",
      severity: "error",
      comment: "apply/ (the only writer of the install) performs plans; it never calls public operations.",
      from: { path: "^src/client/apply/" },
      to: {
        dependencyTypesNot: ["core"],
        pathNot: [CORE_PORTS, CLIENT_ROOT, "^src/client/(apply|plan|install|remote)/"],
      },
    },
    {
      name: "client-root",
      severity: "error",
      comment:
        "The client root files (context, events) are imported by every layer: they import no layer but the install's layout (paths only).",
      from: { path: CLIENT_ROOT },
      to: {
        dependencyTypesNot: ["core"],
        pathNot: [CORE_PORTS, CLIENT_ROOT, "^src/client/install/layout\\.ts$"],
      },
    },
    {
      name: "publisher-not-ops",
      severity: "error",
      comment: "The publisher may read client building blocks, never run client operations.",
      from: { path: "^src/publisher/" },
      to: { path: "^src/client/ops/" },
    },
    {
      name: "portable-entries",
      severity: "error",
      comment:
        "ferry/client and ferry/core run anywhere (a browser, an agent's host): nothing they reach, directly or through other modules, is a Node builtin or a Node adapter.",
      from: { path: "^src/entries/(client|core)\\.ts$" },
      to: { reachable: true, path: ["^src/node/", "^src/register-node\\.ts$"] },
    },
    {
      name: "portable-entries-no-builtins",
      severity: "error",
      comment: "The same for Node builtins (node:*) reached from ferry/client or ferry/core.",
      from: { path: "^src/entries/(client|core)\\.ts$" },
      to: {
        reachable: true,
        path: "^(node:)?(assert|buffer|child_process|crypto|dns|events|fs|http|https|net|os|path|perf_hooks|process|stream|timers|tls|url|util|worker_threads|zlib)(/|$)",
      },
    },
    {
      name: "testing-only-in-tests",
      severity: "error",
      comment: "src/testing (in-memory fakes, hostile servers) never ships in a production path.",
      from: { path: "^src/", pathNot: "^src/testing/" },
      to: { path: "^src/testing/" },
    },
    {
      name: "agent-only-from-cli",
      severity: "error",
      comment: "The agent (docs/AGENT.md) is a program around the library: only the CLI starts it.",
      from: { path: "^src/", pathNot: "^src/(agent|cli)/" },
      to: { path: "^src/agent/" },
    },
    {
      name: "agent-calls-the-library",
      severity: "error",
      comment:
        "The agent adds no logic: it calls the client's public operations and the mounts, nothing below.",
      from: { path: "^src/agent/" },
      to: { path: "^src/(cli|ui|publisher|server|client/(apply|plan|install|remote))/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    exclude: { path: "^dist/" },
  },
};
