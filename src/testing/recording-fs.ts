import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { ForwardingFileSystem } from "../node/forwarding-fs.js";
import type { FileSystem, FileWriter } from "../ports/fs.js";

/**
 * One step of a recorded run, on inode numbers of the recorder's own (paths are relative to the root,
 * "/"-separated, "" is the root). Directory-entry effects name the directory whose fsync makes them
 * durable; a rename is one atomic effect, made durable by an fsync of the target's directory.
 */
export type Effect =
  | {
      readonly t: "link";
      readonly path: string;
      readonly ino: number;
      readonly dir: number;
      readonly kind: "file" | "dir";
      readonly exec: boolean;
    }
  | { readonly t: "unlink"; readonly path: string; readonly ino: number; readonly dir: number }
  | {
      readonly t: "move";
      readonly from: string;
      readonly to: string;
      readonly ino: number;
      readonly dir: number;
    }
  | { readonly t: "truncate"; readonly ino: number }
  | { readonly t: "write"; readonly ino: number; readonly data: Uint8Array }
  | { readonly t: "chmod"; readonly ino: number; readonly exec: boolean }
  | { readonly t: "fsync"; readonly ino: number }
  | { readonly t: "fsyncDir"; readonly dir: number };

export interface InitialEntry {
  readonly path: string;
  readonly ino: number;
  readonly kind: "file" | "dir";
  readonly data?: Uint8Array;
  readonly exec?: boolean;
}

/**
 * Records the effects of every mutating call below `root` as the durability contract of the FileSystem
 * port describes them (src/ports/fs.ts): the input of the power-loss state generator. It forwards every
 * call to `inner` (a real file system), so the recorded run is a real run.
 */
export class RecordingFileSystem extends ForwardingFileSystem {
  readonly effects: Effect[] = [];
  readonly initial: InitialEntry[] = [];
  private readonly names = new Map<string, number>();
  private readonly kinds = new Map<number, "file" | "dir">();
  private nextIno = 1;

  constructor(
    inner: FileSystem,
    private readonly root: string,
  ) {
    super(inner);
    this.names.set("", 0);
    this.kinds.set(0, "dir");
    this.snapshot("");
  }

  private snapshot(dir: string): void {
    for (const name of readdirSync(join(this.root, dir)).sort()) {
      const path = dir ? `${dir}/${name}` : name;
      const native = join(this.root, ...path.split("/"));
      const s = lstatSync(native);
      const ino = this.nextIno++;
      const kind = s.isDirectory() ? "dir" : "file";
      this.names.set(path, ino);
      this.kinds.set(ino, kind);
      if (kind === "dir") {
        this.initial.push({ path, ino, kind });
        this.snapshot(path);
      } else {
        this.initial.push({ path, ino, kind, data: readFileSync(native), exec: (s.mode & 0o100) !== 0 });
      }
    }
  }

  private rel(path: string): string {
    const r = relative(this.root, path);
    if (r.startsWith("..")) throw new Error(`recording: ${path} is outside ${this.root}`);
    return r.split(sep).join("/");
  }

  private parentIno(rel: string): number {
    const parent = rel.includes("/") ? rel.slice(0, rel.lastIndexOf("/")) : "";
    const ino = this.names.get(parent);
    if (ino === undefined) throw new Error(`recording: parent of ${rel} is unknown`);
    return ino;
  }

  /** A created file: a new inode, or the existing one truncated (open with "w"). */
  private created(path: string, exec: boolean): number {
    const rel = this.rel(path);
    const existing = this.names.get(rel);
    if (existing !== undefined) {
      this.effects.push({ t: "truncate", ino: existing });
      return existing;
    }
    const ino = this.nextIno++;
    this.effects.push({
      t: "link",
      path: rel,
      ino,
      dir: this.parentIno(rel),
      kind: "file",
      exec,
    });
    this.names.set(rel, ino);
    this.kinds.set(ino, "file");
    return ino;
  }

  private removed(rel: string): void {
    const ino = this.names.get(rel);
    if (ino === undefined) return;
    this.effects.push({ t: "unlink", path: rel, ino, dir: this.parentIno(rel) });
    this.names.delete(rel);
  }

  override async createWriter(path: string, mode = 0o644): Promise<FileWriter> {
    const writer = await this.inner.createWriter(path, mode);
    const ino = this.created(path, (mode & 0o100) !== 0);
    return {
      write: async (data) => {
        await writer.write(data);
        this.effects.push({ t: "write", ino, data: Uint8Array.from(data) });
      },
      commit: async () => {
        await writer.commit();
        this.effects.push({ t: "fsync", ino });
      },
      abort: () => writer.abort(),
    };
  }

  override async writeFile(path: string, data: Uint8Array): Promise<void> {
    await this.inner.writeFile(path, data);
    const ino = this.created(path, false);
    this.effects.push({ t: "write", ino, data: Uint8Array.from(data) });
  }

  override async createExclusive(path: string, data: Uint8Array): Promise<boolean> {
    if (!(await this.inner.createExclusive(path, data))) return false;
    const ino = this.created(path, false);
    this.effects.push({ t: "write", ino, data: Uint8Array.from(data) }, { t: "fsync", ino });
    return true;
  }

  override async rename(from: string, to: string): Promise<void> {
    await this.inner.rename(from, to);
    const [f, tt] = [this.rel(from), this.rel(to)];
    const ino = this.names.get(f);
    if (ino === undefined) throw new Error(`recording: rename of unknown ${f}`);
    if (this.kinds.get(ino) !== "file") throw new Error(`recording: only file renames are modelled (${f})`);
    this.effects.push({ t: "move", from: f, to: tt, ino, dir: this.parentIno(tt) });
    this.names.delete(f);
    this.names.set(tt, ino);
  }

  /** A second name of an existing file: a link effect on its inode (content shared). */
  override async link(existing: string, path: string): Promise<void> {
    await super.link(existing, path);
    const rel = this.rel(path);
    const ino = this.names.get(this.rel(existing));
    if (ino === undefined || this.kinds.get(ino) !== "file")
      throw new Error(`recording: link of unknown file ${existing}`);
    this.effects.push({ t: "link", path: rel, ino, dir: this.parentIno(rel), kind: "file", exec: false });
    this.names.set(rel, ino);
  }

  override async unlink(path: string): Promise<void> {
    await this.inner.unlink(path);
    this.removed(this.rel(path));
  }

  override async mkdirp(path: string): Promise<void> {
    const rel = this.rel(path);
    const missing: string[] = [];
    for (
      let p = rel;
      p !== "" && !this.names.has(p);
      p = p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : ""
    ) {
      missing.unshift(p);
    }
    await this.inner.mkdirp(path);
    for (const p of missing) {
      const ino = this.nextIno++;
      const dir = this.parentIno(p);
      this.effects.push({ t: "link", path: p, ino, dir, kind: "dir", exec: false });
      this.names.set(p, ino);
      this.kinds.set(ino, "dir");
    }
    // The port's contract: directories mkdirp creates are durable (their parents are fsynced).
    for (const p of missing) this.effects.push({ t: "fsyncDir", dir: this.parentIno(p) });
  }

  override async rmdirIfEmpty(path: string): Promise<boolean> {
    if (!(await this.inner.rmdirIfEmpty(path))) return false;
    this.removed(this.rel(path));
    return true;
  }

  override async removeTree(path: string): Promise<void> {
    await this.inner.removeTree(path);
    const rel = this.rel(path);
    const below = [...this.names.keys()].filter((p) => p.startsWith(`${rel}/`));
    // Deepest first: files and directories below, then the directory itself.
    for (const p of below.sort((a, b) => b.length - a.length)) this.removed(p);
    this.removed(rel);
  }

  override async chmod(path: string, mode: number): Promise<void> {
    await this.inner.chmod(path, mode);
    const ino = this.names.get(this.rel(path));
    if (ino !== undefined) this.effects.push({ t: "chmod", ino, exec: (mode & 0o100) !== 0 });
  }

  override async fsyncDir(path: string): Promise<void> {
    await this.inner.fsyncDir(path);
    const ino = this.names.get(this.rel(path));
    if (ino !== undefined) this.effects.push({ t: "fsyncDir", dir: ino });
  }
}
