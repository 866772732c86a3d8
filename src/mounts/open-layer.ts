import { isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { FerryError } from "../core/errors.js";
import type { ZipLimits } from "../core/zip.js";
import type { FileSystem } from "../ports/fs.js";
import { DirectoryLayer } from "./dir-layer.js";
import { type InstallIdentity, InstallLayer } from "./install-layer.js";
import type { MountKind, MountLayer } from "./layer.js";
import { ZipLayer } from "./zip-layer.js";

/** A mount URI as an absolute native path: a `file:` URL or a path (relative to the working directory). */
export function mountPath(uri: string): string {
  if (/^file:/i.test(uri)) return fileURLToPath(uri);
  if (/^[a-z][a-z0-9+.-]+:\/\//i.test(uri))
    throw new FerryError("E_USAGE", `Mount URI ${uri}: only local paths and file: URLs can be mounted.`, {
      uri,
    });
  return isAbsolute(uri) ? uri : resolve(uri);
}

/**
 * Opens what `path` holds: a regular file is a zip archive; a directory with `.ferry/state.json` is a
 * Ferry install; any other directory is a plain directory. With `expected`, the kind must be that one
 * (a persisted mount whose directory became an install, or the reverse, is not the mount recorded);
 * with `install`, a Ferry install must be of that repository and channel (any release of it).
 */
export async function openLayer(
  fs: FileSystem,
  path: string,
  limits: ZipLimits | undefined,
  expected?: MountKind,
  install?: InstallIdentity,
): Promise<MountLayer> {
  const stat = await fs.stat(path);
  let kind: MountKind;
  if (stat?.kind === "file") kind = "zip";
  else if (stat?.kind === "directory")
    kind =
      (await fs.stat(join(path, ".ferry", "state.json")))?.kind === "file" ? "ferry-install" : "directory";
  else
    throw new FerryError(
      "E_NOT_FOUND",
      `Cannot mount ${path}: ${stat === undefined ? "it does not exist" : "it is not a regular file or directory"}. Give a directory, a zip archive or a Ferry install.`,
      { path },
    );
  if (expected !== undefined && kind !== expected)
    throw new FerryError("E_MOUNT_STALE", `${path} was mounted as a ${expected} and is now a ${kind}.`, {
      path,
      reason: "kind-changed",
    });
  if (kind === "zip") return ZipLayer.open(path, fs, limits);
  if (kind === "ferry-install") return InstallLayer.open(path, fs, install);
  return new DirectoryLayer(path, fs);
}
