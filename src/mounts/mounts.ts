import { FerryError, isFerryError } from "../core/errors.js";
import { assertSafePath } from "../core/paths.js";
import { timestamp } from "../core/time.js";
import type { ZipLimits } from "../core/zip.js";
import { NodeFileSystem } from "../node/node-fs.js";
import { systemClock } from "../node/system-clock.js";
import type { Clock } from "../ports/clock.js";
import type { FileSystem } from "../ports/fs.js";
import type { MountKind, MountLayer } from "./layer.js";
import { InstallLayer } from "./install-layer.js";
import { mountPath, openLayer } from "./open-layer.js";
import { type DroppedMount, type PersistedMount, readMountsFile, writeMountsFile } from "./persist.js";
import { MountStack } from "./stack.js";

export interface MountsOptions {
  /**
   * The runtime (app/engine build) the app runs: supplied by the app. A persisted mount recorded under
   * another runtime is stale here: reported, never used, and kept in the file (another runtime may use it).
   */
  readonly runtime: string;
  /** Where mounts persist (`<installDir>/.ferry/mounts.json`); without it nothing is read or written. */
  readonly installDir?: string;
  readonly fs?: FileSystem;
  readonly clock?: Clock;
  readonly zipLimits?: ZipLimits;
}

export interface MountInfo {
  readonly name: string;
  readonly uri: string;
  readonly priority: number;
  readonly kind: MountKind;
  readonly persisted: boolean;
}

export interface Resolution extends MountInfo {
  /** The path asked for (validated). */
  readonly path: string;
  readonly size: number;
}

export interface MountedFile extends Resolution {
  /** The whole file, verified by its layer (zip entries: length and CRC-32). */
  read(): Promise<Uint8Array>;
}

/** A persisted mount that failed re-verification when the table was opened: why, and when it was found. */
export type StaleMount = DroppedMount;

interface Entry {
  readonly layer: MountLayer;
  readonly record: PersistedMount | undefined;
}

/**
 * Named, prioritized layers and the one resolver over them (docs/CONTENT.md). The highest-priority mount
 * that has a path serves it. Every path asked for goes through the path validator first.
 *
 * Invariant: opening and reading never write the mounts file. Only explicit writes do: addMount,
 * removeMount and prune. A write keeps every stale record as it was, except prune, which drops them.
 */
export class Mounts {
  private readonly stack = new MountStack<Entry>();
  /** Persisted records that failed re-verification, in file order, with why. */
  private staleNow: { record: PersistedMount; why: StaleMount }[] = [];
  private droppedBefore: readonly DroppedMount[] = [];
  private droppedNow: DroppedMount[] = [];

  private constructor(
    private readonly options: MountsOptions,
    private readonly fs: FileSystem,
    private readonly clock: Clock,
  ) {}

  /**
   * Opens the mount table; with `installDir`, re-verifies every persisted mount (runtime, kind, content
   * hash or, for a Ferry install, its repository and channel, archive directory). One that fails is stale:
   * reported in `stale`, never served, and left in the file; `prune` removes stale ones.
   */
  static async open(options: MountsOptions): Promise<Mounts> {
    if (options.runtime.length === 0)
      throw new FerryError("E_USAGE", "The runtime string must not be empty.");
    const mounts = new Mounts(options, options.fs ?? new NodeFileSystem(), options.clock ?? systemClock);
    if (options.installDir !== undefined) await mounts.restore(options.installDir);
    return mounts;
  }

  private async restore(installDir: string): Promise<void> {
    const file = await readMountsFile(this.fs, installDir);
    this.droppedBefore = file.dropped;
    for (const record of file.mounts) {
      try {
        this.stack.add(record.name, record.priority, { layer: await this.verify(record), record });
      } catch (error) {
        if (!isFerryError(error)) throw error;
        this.staleNow.push({
          record,
          why: {
            name: record.name,
            uri: record.uri,
            priority: record.priority,
            code: error.code,
            message: error.message,
            time: timestamp(this.clock.now()),
          },
        });
      }
    }
  }

  private async verify(record: PersistedMount): Promise<MountLayer> {
    const stale = (reason: string, message: string) =>
      new FerryError(
        "E_MOUNT_STALE",
        `Persisted mount ${record.name} (${record.uri}) is not used: ${message}. Add it again if it is still wanted, or run 'ferry mount prune' to remove it.`,
        {
          name: record.name,
          uri: record.uri,
          reason,
        },
      );
    if (record.runtime !== this.options.runtime)
      throw stale(
        "runtime-changed",
        `it was made for runtime ${record.runtime}, the app now runs ${this.options.runtime}`,
      );
    const layer = await openLayer(this.fs, record.uri, this.options.zipLimits, record.kind, record.install);
    // A Ferry install recorded with its identity follows its own verified updates; openLayer checked it.
    if (record.kind === "ferry-install" && record.install !== undefined) return layer;
    const hash = await layer.contentHash();
    if (hash !== record.contentHash)
      throw stale(
        "content-changed",
        `its content changed since it was mounted (hash ${hash}, recorded ${record.contentHash})`,
      );
    return layer;
  }

  /** Writes the served records and the stale ones (in that order), and the drop history. */
  private async save(): Promise<void> {
    const installDir = this.options.installDir;
    if (installDir === undefined) return;
    const records = this.stack.list().flatMap((m) => (m.layer.record ? [m.layer.record] : []));
    await writeMountsFile(this.fs, installDir, {
      mounts: [...records, ...this.staleNow.map((s) => s.record)],
      dropped: [...this.droppedBefore, ...this.droppedNow],
    });
  }

  /** Persisted mounts that are not served (failed re-verification when this table was opened). */
  get stale(): readonly StaleMount[] {
    return this.staleNow.map((s) => s.why);
  }

  /** Mounts removed by `prune`, earlier and now, oldest first. */
  get droppedHistory(): readonly DroppedMount[] {
    return [...this.droppedBefore, ...this.droppedNow];
  }

  /** Removes the stale records from the file, recording why in its drop history; returns them. */
  async prune(): Promise<readonly DroppedMount[]> {
    const pruned = this.stale;
    if (pruned.length === 0) return [];
    const before = { stale: this.staleNow, dropped: this.droppedNow };
    this.droppedNow = [...this.droppedNow, ...pruned];
    this.staleNow = [];
    try {
      await this.save();
    } catch (error) {
      this.staleNow = before.stale; // not written, so not pruned: memory and file agree
      this.droppedNow = before.dropped;
      throw error;
    }
    return pruned;
  }

  /**
   * Mounts a directory, zip archive or Ferry install. `persist` (default: when the table has an
   * installDir) records it with its content hash and the runtime, so the next open re-verifies it.
   */
  async addMount(
    name: string,
    uri: string,
    priority: number,
    options: { persist?: boolean } = {},
  ): Promise<MountInfo> {
    this.stack.check(name, priority);
    const path = mountPath(uri);
    const layer = await openLayer(this.fs, path, this.options.zipLimits);
    const persist = options.persist ?? this.options.installDir !== undefined;
    if (persist && this.options.installDir === undefined)
      throw new FerryError(
        "E_USAGE",
        `Mount ${name} cannot persist: the mount table was opened without an installDir.`,
      );
    const record: PersistedMount | undefined = persist
      ? {
          name,
          uri: path,
          priority,
          kind: layer.kind,
          contentHash: await layer.contentHash(),
          runtime: this.options.runtime,
          added: timestamp(this.clock.now()),
          ...(layer instanceof InstallLayer ? { install: layer.identity } : {}),
        }
      : undefined;
    this.stack.add(name, priority, { layer, record });
    const stale = this.staleNow;
    if (record) {
      // The new record supersedes a stale one of the same name (the file keeps names unique).
      this.staleNow = stale.filter((s) => s.record.name !== name);
      try {
        await this.save();
      } catch (error) {
        this.stack.remove(name); // not recorded, so not mounted: memory and file agree
        this.staleNow = stale;
        throw error;
      }
    }
    return info(name, priority, { layer, record });
  }

  /** Removes a mount, served or stale; a persisted one is removed from the file. */
  async removeMount(name: string): Promise<void> {
    const index = this.staleNow.findIndex((s) => s.record.name === name);
    if (index >= 0 && !this.stack.list().some((m) => m.name === name)) {
      const stale = this.staleNow;
      this.staleNow = stale.filter((_, i) => i !== index);
      try {
        await this.save();
      } catch (error) {
        this.staleNow = stale;
        throw error;
      }
      return;
    }
    const removed = this.stack.remove(name);
    if (removed.layer.record) await this.save();
  }

  /** Highest priority first. */
  getMounts(): MountInfo[] {
    return this.stack.list().map((m) => info(m.name, m.priority, m.layer));
  }

  /** Which mount serves `path`, or undefined when none does. E_UNSAFE_PATH for a path that breaks the rules. */
  async resolve(path: string): Promise<Resolution | undefined> {
    return (await this.lookup(path))?.resolution;
  }

  /** The file at `path` from the mount that serves it; E_NOT_FOUND when none does. */
  async open(path: string): Promise<MountedFile> {
    const found = await this.lookup(path);
    if (found === undefined)
      throw new FerryError("E_NOT_FOUND", `No mount serves ${path}. 'ferry mount list' shows the mounts.`, {
        path,
      });
    const layer = found.layer;
    return { ...found.resolution, read: () => layer.read(path) };
  }

  private async lookup(path: string): Promise<{ resolution: Resolution; layer: MountLayer } | undefined> {
    assertSafePath(path, "a mount lookup");
    const found = await this.stack.find((entry) => entry.layer.size(path));
    if (found === undefined) return undefined;
    const { name, priority, layer } = found.mount;
    return { resolution: { ...info(name, priority, layer), path, size: found.value }, layer: layer.layer };
  }

  async readFile(path: string): Promise<Uint8Array> {
    return (await this.open(path)).read();
  }
}

function info(name: string, priority: number, entry: Entry): MountInfo {
  return {
    name,
    priority,
    uri: entry.layer.uri,
    kind: entry.layer.kind,
    persisted: entry.record !== undefined,
  };
}

/**
 * Removes a persisted mount from an install's mount file without opening (re-verifying) the others:
 * removing needs no runtime. E_NOT_FOUND when no mount of that name is recorded.
 */
export async function removePersistedMount(fs: FileSystem, installDir: string, name: string): Promise<void> {
  const file = await readMountsFile(fs, installDir);
  if (!file.mounts.some((m) => m.name === name))
    throw new FerryError("E_NOT_FOUND", `${installDir} has no persisted mount named ${name}.`, {
      name,
      path: installDir,
    });
  await writeMountsFile(fs, installDir, {
    mounts: file.mounts.filter((m) => m.name !== name),
    dropped: file.dropped,
  });
}
