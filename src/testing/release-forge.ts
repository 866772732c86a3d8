import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { brotli } from "../node/node-codec.js";
import { DEFAULT_CHUNKING } from "../core/chunker.js";
import { sha256 } from "../node/node-crypto.js";
import type { SigningKey } from "../core/keys.js";
import { type Manifest, manifestToJson } from "../core/manifest.js";
import { comparePaths } from "../core/paths.js";
import { canonicalBytes } from "../core/canonical-json.js";
import { publicKeyOf } from "../core/keys.js";
import { signPointer } from "../core/pointer.js";
import { signRoot } from "../core/root.js";

/**
 * Writes a signed release straight into a repository directory, bypassing the publisher's checks, so
 * tests can serve what a compromised or buggy publisher could sign: unsafe paths, lying sizes, bombs.
 * Test tool only.
 */
export interface ForgedFile {
  readonly path: string;
  readonly data: Uint8Array;
  /** Stored (brotli) bytes of the file's one chunk in place of `data` raw, e.g. a bomb. */
  readonly storedBrotli?: Uint8Array;
}

export interface ForgeOptions {
  readonly repo: string;
  readonly key: SigningKey;
  readonly serial: number;
  readonly version: string;
  readonly files: readonly ForgedFile[];
  readonly channel?: string;
  /** Replaces the stored (compressed) manifest bytes, e.g. with a bomb. */
  readonly manifestStored?: Uint8Array;
  /** Replaces the signed raw size of the manifest. */
  readonly manifestRawSize?: number;
}

export interface ForgedRelease {
  readonly manifestHash: string;
  readonly manifestSize: number;
}

/** One raw chunk per non-empty file, all in one pack; files listed in manifest order as given (sorted). */
export async function forgeRelease(options: ForgeOptions): Promise<ForgedRelease> {
  const files = [...options.files].sort((a, b) => comparePaths(a.path, b.path));
  const packParts: Uint8Array[] = [];
  let offset = 0;
  const entries = files.map((f) => {
    const stored = f.storedBrotli ?? f.data;
    const chunks =
      f.data.length === 0
        ? []
        : [
            {
              hash: sha256(f.data),
              size: f.data.length,
              pack: 0,
              offset,
              length: stored.length,
              codec: f.storedBrotli ? ("br" as const) : ("raw" as const),
            },
          ];
    packParts.push(stored);
    offset += stored.length;
    return {
      path: f.path,
      size: f.data.length,
      sha256: sha256(f.data),
      executable: false,
      package: "base",
      chunks,
    };
  });
  const pack = Buffer.concat(packParts.length > 0 ? packParts : [Buffer.from("-")]);
  const packId = sha256(pack);
  const manifest: Manifest = {
    format: 1,
    version: options.version,
    created: "2026-01-01T00:00:00Z",
    previous: null,
    chunking: DEFAULT_CHUNKING,
    packs: [{ id: packId, size: pack.length }],
    packages: { base: { optional: false } },
    files: entries,
  };
  const raw = canonicalBytes(manifestToJson(manifest));
  const stored = options.manifestStored ?? brotli(raw, 5);
  const manifestHash = sha256(stored);
  await mkdir(join(options.repo, "packs"), { recursive: true });
  await mkdir(join(options.repo, "manifests"), { recursive: true });
  await mkdir(join(options.repo, "channels"), { recursive: true });
  await writeFile(join(options.repo, "packs", `${packId}.pack`), pack);
  await writeFile(join(options.repo, "manifests", manifestHash), stored);
  // The signing key holds both roles of root/1.json, as after a first `ferry publish`.
  await mkdir(join(options.repo, "root"), { recursive: true });
  const signer = publicKeyOf(options.key);
  await writeFile(
    join(options.repo, "root", "1.json"),
    signRoot(
      {
        version: 1,
        expires: "2999-01-01T00:00:00Z",
        rootKeys: [signer],
        rootThreshold: 1,
        releaseKeys: [signer],
        releaseThreshold: 1,
      },
      [options.key],
    ),
  );
  const pointer = signPointer(
    {
      channel: options.channel ?? "stable",
      version: options.version,
      serial: options.serial,
      root: 1,
      published: "2026-01-01T00:00:00Z",
      expires: "2999-01-01T00:00:00Z",
      manifest: {
        hash: manifestHash,
        size: stored.length,
        codec: "br",
        rawSize: options.manifestRawSize ?? raw.length,
      },
    },
    [options.key],
  );
  await writeFile(join(options.repo, "channels", `${options.channel ?? "stable"}.json`), pointer);
  return { manifestHash, manifestSize: stored.length };
}
