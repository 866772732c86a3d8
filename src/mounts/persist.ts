import { join } from "node:path";
import { canonicalBytes } from "../core/canonical-json.js";
import { checkFormatHeader, JsonReader, parseJson } from "../core/json-reader.js";
import type { FileSystem } from "../ports/fs.js";
import type { InstallIdentity } from "./install-layer.js";
import type { MountKind } from "./layer.js";

/** A mount recorded in `.ferry/mounts.json`, with what it must still match to be used again. */
export interface PersistedMount {
  readonly name: string;
  readonly uri: string;
  readonly priority: number;
  readonly kind: MountKind;
  /**
   * MountLayer.contentHash() when the mount was added. For a Ferry install with `install` it is only a
   * note (the release then mounted): the install is re-verified by its identity and its own state, so it
   * may update while mounted.
   */
  readonly contentHash: string;
  /** A Ferry install's repository and channel (absent in records written before installs could update). */
  readonly install?: InstallIdentity;
  /** The runtime (app/engine build) the mount was added under; another runtime drops it. */
  readonly runtime: string;
  readonly added: string;
}

/** A persisted mount that failed re-verification: why (a FerryError code and message) and when. */
export interface DroppedMount {
  readonly name: string;
  readonly uri: string;
  readonly priority: number;
  readonly code: string;
  readonly message: string;
  readonly time: string;
}

export interface MountsFile {
  readonly mounts: readonly PersistedMount[];
  readonly dropped: readonly DroppedMount[];
}

/** Only the most recent drops are kept, so the file stays small whatever happens. */
export const MAX_DROPPED_RECORDS = 50;
const KINDS = /^(directory|zip|ferry-install)$/;

export function mountsFilePath(installDir: string): string {
  return join(installDir, ".ferry", "mounts.json");
}

export function parseMountsFile(json: unknown, document: string): MountsFile {
  const r = new JsonReader(document, json);
  checkFormatHeader(r, "ferry-mounts");
  return {
    mounts: r.objects("mounts").map((m) => ({
      name: m.string("name"),
      uri: m.string("uri"),
      priority: m.integer("priority", Number.MIN_SAFE_INTEGER),
      kind: m.string("kind", KINDS) as MountKind,
      contentHash: m.string("contentHash"),
      runtime: m.string("runtime"),
      added: m.string("added"),
      ...(m.has("install") ? { install: readIdentity(m.object("install")) } : {}),
    })),
    dropped: r.objects("dropped").map((d) => ({
      name: d.string("name"),
      uri: d.string("uri"),
      priority: d.integer("priority", Number.MIN_SAFE_INTEGER),
      code: d.string("code"),
      message: d.string("message"),
      time: d.string("time"),
    })),
  };
}

function readIdentity(r: JsonReader): InstallIdentity {
  return { repo: r.string("repo"), channel: r.string("channel") };
}

/** The install's recorded mounts; none when the file does not exist. */
export async function readMountsFile(fs: FileSystem, installDir: string): Promise<MountsFile> {
  const path = mountsFilePath(installDir);
  if ((await fs.stat(path)) === undefined) return { mounts: [], dropped: [] };
  return parseMountsFile(parseJson(path, await fs.readFile(path)), path);
}

/** Atomic (temp file, fsync, rename): a crash leaves the old list or the new one, never a torn one. */
export async function writeMountsFile(fs: FileSystem, installDir: string, file: MountsFile): Promise<void> {
  await fs.mkdirp(join(installDir, ".ferry"));
  const dropped = file.dropped.slice(-MAX_DROPPED_RECORDS);
  await fs.writeFileAtomic(
    mountsFilePath(installDir),
    canonicalBytes({ format: 1, type: "ferry-mounts", mounts: file.mounts, dropped }),
  );
}
