import { NodeFileSystem } from "../node/node-fs.js";
import type { FileSystem } from "../ports/fs.js";
import { ioError } from "../core/errors.js";
import { parseJson } from "../core/json-reader.js";
import {
  DEFAULT_RULES,
  PACKAGES_CONFIG_FILE,
  type PackageRules,
  parsePackageRules,
} from "../core/packages-config.js";
import type { ScannedFile } from "./scan.js";

/**
 * The build's package rules (`ferry-packages.json` at the build root, docs/PACKAGES.md) and the files to
 * publish: the rules file itself is configuration, never part of the release.
 */
export async function loadPackageRules(
  buildDir: string,
  scanned: readonly ScannedFile[],
  fs: FileSystem = new NodeFileSystem(),
): Promise<{ rules: PackageRules; files: ScannedFile[] }> {
  const config = scanned.find((f) => f.path === PACKAGES_CONFIG_FILE);
  if (!config) return { rules: DEFAULT_RULES, files: [...scanned] };
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(config.absolute);
  } catch (cause) {
    throw ioError("read", config.absolute, cause);
  }
  return {
    rules: parsePackageRules(parseJson(config.absolute, bytes), `${config.absolute} (${buildDir})`),
    files: scanned.filter((f) => f !== config),
  };
}
