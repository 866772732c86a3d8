import { FerryError } from "../core/errors.js";

/**
 * Cocos Creator AssetsManagerEx manifests (`project.manifest`, `version.manifest`), byte for byte as the
 * hot-update tutorial's `version_generator.js` writes them: compact JSON, keys in the order below,
 * `remoteManifestUrl`/`remoteVersionUrl` derived from `packageUrl`. Pure: no I/O (docs/CONTENT.md).
 */
export interface CocosAsset {
  /** Release path, `/`-separated, relative to the source directory (not yet URI-encoded). */
  readonly path: string;
  readonly size: number;
  /** Lower-case hex MD5 of the raw bytes. */
  readonly md5: string;
}

export interface CocosHeader {
  readonly packageUrl: string;
  readonly remoteManifestUrl: string;
  readonly remoteVersionUrl: string;
  readonly version: string;
}

/** The header the generator derives from `--url` and `--version`; the url must end with `/`. */
export function cocosHeader(url: string, version: string): CocosHeader {
  if (!url.endsWith("/"))
    throw new FerryError(
      "E_USAGE",
      `--url ${JSON.stringify(url)} must end with '/': asset URLs are packageUrl + path.`,
      { url },
    );
  if (version.length === 0) throw new FerryError("E_USAGE", "--version must not be empty.");
  return {
    packageUrl: url,
    remoteManifestUrl: `${url}project.manifest`,
    remoteVersionUrl: `${url}version.manifest`,
    version,
  };
}

/** The asset key: the path as JavaScript's encodeURI spells it (what the original generator writes). */
export function cocosKey(path: string): string {
  return encodeURI(path);
}

/** `compressed: true` marks archives AssetsManagerEx unpacks after download: `.zip`, in any case. */
export function isCompressed(path: string): boolean {
  return path.toLowerCase().endsWith(".zip");
}

function headerFields(header: CocosHeader): string {
  const s = JSON.stringify;
  return (
    `"packageUrl":${s(header.packageUrl)},"remoteManifestUrl":${s(header.remoteManifestUrl)},` +
    `"remoteVersionUrl":${s(header.remoteVersionUrl)},"version":${s(header.version)}`
  );
}

/**
 * `project.manifest`. Written by hand rather than by JSON.stringify of an object, because JavaScript
 * objects put integer-like keys ("2", "10") first whatever the insertion order: entries here stay in the
 * order given (callers sort them by path, so output is reproducible).
 */
export function projectManifestText(header: CocosHeader, assets: readonly CocosAsset[]): string {
  const entries = assets.map((a) => {
    if (!/^[0-9a-f]{32}$/.test(a.md5)) throw new FerryError("E_FORMAT", `Bad md5 for ${a.path}: ${a.md5}.`);
    const compressed = isCompressed(a.path) ? `,"compressed":true` : "";
    return `${JSON.stringify(cocosKey(a.path))}:{"size":${a.size},"md5":"${a.md5}"${compressed}}`;
  });
  return `{${headerFields(header)},"assets":{${entries.join(",")}},"searchPaths":[]}`;
}

/** `version.manifest`: the same object without `assets` and `searchPaths`. */
export function versionManifestText(header: CocosHeader): string {
  return `{${headerFields(header)}}`;
}
