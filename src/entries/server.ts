/**
 * `ferry/server`: the HTTP servers Ferry runs. serveRepository serves a repository directory as static
 * files (ranges, caching headers) for development and small setups; serveUpdateScreen serves the update
 * screen a game can open beside its install.
 */
export * from "../server/static-server.js";
export { serveUpdateScreen, type UpdateScreen, type UpdateScreenOptions } from "../ui/ui-server.js";
