/**
 * Ferry's version, as `ferry agent` reports it in hello. The standalone executable
 * (scripts/build-executable.ts) has no package.json beside it: its bundler defines FERRY_BUNDLED_VERSION.
 */
import { readFile } from "node:fs/promises";

declare const FERRY_BUNDLED_VERSION: string | undefined;

export async function ferryVersion(): Promise<string> {
  if (typeof FERRY_BUNDLED_VERSION === "string") return FERRY_BUNDLED_VERSION;
  // dist/src/cli (and dist/lib/cli in the package) sit three levels under the package root.
  const text = await readFile(new URL("../../../package.json", import.meta.url), "utf8");
  return (JSON.parse(text) as { version: string }).version;
}
