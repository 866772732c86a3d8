import type { Crypto } from "../../ports/crypto.js";
import type { Manifest } from "../../core/manifest.js";
import { assertSafePath } from "../../core/paths.js";
import type { FileSystem } from "../../ports/fs.js";
import type { Host } from "../../ports/host.js";
import { defaultDeps } from "../defaults.js";
import { joinPath } from "../paths.js";
import { InstallLayout } from "./layout.js";
import { readState } from "./read-state.js";

/** Native path of a release path inside a base directory (paths are validated before they get here). */
export function baseFile(base: string, path: string): string {
  return joinPath(base, path);
}

/**
 * The manifest without the files the read-only base directory already holds at the same path with the
 * same SHA-256 (and executable bit): those are served from the base and never copied into the update
 * folder. Only files of equal size are hashed. Symlinks in the base are never read (the fs port's stat
 * is an lstat), so they count as different.
 */
export async function withoutBaseFiles(
  fs: FileSystem,
  manifest: Manifest,
  base: string | undefined,
  crypto: Crypto,
): Promise<Manifest> {
  if (base === undefined) return manifest;
  const files = [];
  for (const file of manifest.files) {
    if (!(await identicalInBase(fs, base, file, crypto))) files.push(file);
  }
  return files.length === manifest.files.length ? manifest : { ...manifest, files };
}

async function identicalInBase(
  fs: FileSystem,
  base: string,
  file: { path: string; size: number; sha256: string; executable: boolean },
  crypto: Crypto,
): Promise<boolean> {
  const native = baseFile(base, file.path);
  const stat = await fs.stat(native);
  if (stat?.kind !== "file" || stat.size !== file.size || stat.executable !== file.executable) return false;
  const hash = crypto.createSha256();
  for await (const block of fs.readBlocks(native)) hash.update(block);
  return (await hash.digest()) === file.sha256;
}

export interface OverlayHit {
  /** "update": the install (update folder) holds the file; "base": the read-only base does. */
  readonly layer: "update" | "base";
  /** Native path to open. */
  readonly file: string;
}

/**
 * Cocos-style search path lookup for one release path: the update folder first, then the base. The
 * update folder answers only while it holds an installed release (.ferry/state.json present): after the
 * runtime gate set a stale release aside (docs/PACKAGES.md), leftovers are never served. The base is the
 * state's `base` unless `options.base` names one. Undefined when neither layer has a regular file there.
 */
export async function resolveOverlay(options: {
  readonly installDir: string;
  /** The release path looked up. */
  readonly path: string;
  readonly base?: string;
  readonly fs?: FileSystem;
  readonly host?: Host;
  readonly crypto?: Crypto;
}): Promise<OverlayHit | undefined> {
  const { installDir, path } = options;
  assertSafePath(path, "overlay lookup");
  // Reads only: the plain default file system (no rename retry) is all it needs.
  const fs = options.fs ?? defaultDeps().fileSystem(defaultDeps().clock);
  const host = options.host ?? defaultDeps().host;
  const layout = new InstallLayout(host.absolutePath(installDir));
  const crypto = options.crypto ?? defaultDeps().crypto;
  const state = await readState({ fs, layout, crypto });
  if (state && path.split("/")[0] !== ".ferry") {
    const file = layout.file(path);
    if ((await fs.stat(file))?.kind === "file") return { layer: "update", file };
  }
  const base = options.base ?? state?.base;
  if (base === undefined) return undefined;
  const file = baseFile(host.absolutePath(base), path);
  return (await fs.stat(file))?.kind === "file" ? { layer: "base", file } : undefined;
}
