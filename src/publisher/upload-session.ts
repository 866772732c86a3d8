import { stat, unlink } from "node:fs/promises";
import { FerryError, ioError } from "../core/errors.js";
import { retrying } from "../client/remote/retry.js";
import { objectPolicy, STAGE_ORDER, type UploadStage } from "./object-policy.js";
import type { RepoStore } from "./repo-store.js";

/** Typed progress of a publish's uploads (the CLI renders them). */
export type UploadEvent =
  /** Every upload of `stage` is about to start (objects start as soon as they are produced). */
  | { readonly type: "upload-stage"; readonly stage: UploadStage; readonly objects: number }
  /** An object was stored, or `skipped` because the store already held it (content-addressed). */
  | {
      readonly type: "upload";
      readonly path: string;
      readonly bytes: number;
      readonly skipped: boolean;
      readonly done: number;
      readonly started: number;
    }
  | {
      readonly type: "upload-retry";
      readonly path: string;
      readonly attempt: number;
      readonly delayMs: number;
      readonly code: string;
      readonly message: string;
    };

export interface UploadSessionOptions {
  /** Uploads in flight at once (default 4). */
  readonly concurrency?: number;
  /** Attempts per object for transient failures (default 4). */
  readonly maxAttempts?: number;
  /** Backoff before attempt n+1 (default 500 ms doubling, at most 8 s). */
  readonly backoffMs?: (attempt: number) => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly onEvent?: (event: UploadEvent) => void;
}

type Body = { readonly data: Uint8Array } | { readonly file: string };

/**
 * The publisher's view of a store during one publish, enforcing the upload order of objectPolicy:
 * content-addressed objects upload as they are produced (in parallel, bounded, retried, skipped when
 * present); metadata, roots and pointers are held until commit() and then written stage by stage, the
 * channel pointers last. A publish that fails or is killed before commit() finishes therefore never
 * names a missing object, and the old release stays fully served. Reads see this session's writes.
 */
export class UploadSession implements RepoStore {
  private readonly held = new Map<string, Uint8Array>();
  /** Compare-and-swap preconditions of held writes (writeIf): checked by the backend at commit. */
  private readonly expected = new Map<string, string | null>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly waiting: (() => void)[] = [];
  private active = 0;
  private failure: unknown;
  private started = 0;
  private done = 0;
  private readonly concurrency: number;
  private readonly maxAttempts: number;

  constructor(
    readonly backend: RepoStore,
    private readonly options: UploadSessionOptions = {},
  ) {
    this.concurrency = Math.max(1, options.concurrency ?? 4);
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 4);
  }

  get location(): string {
    return this.backend.location;
  }

  async read(path: string): Promise<Uint8Array | undefined> {
    const held = this.held.get(path);
    if (held) return held;
    await this.settled(path);
    return this.backend.read(path);
  }

  async readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    const held = this.held.get(path);
    if (held) return held.subarray(offset, offset + length);
    await this.settled(path);
    return this.backend.readRange(path, offset, length);
  }

  async head(path: string): Promise<{ size: number } | undefined> {
    const held = this.held.get(path);
    if (held) return { size: held.length };
    await this.settled(path);
    return this.backend.head(path);
  }

  async exists(path: string): Promise<boolean> {
    return (await this.head(path)) !== undefined;
  }

  async list(prefix: string): Promise<string[]> {
    const names = new Set(await this.backend.list(prefix));
    for (const path of [...this.held.keys(), ...this.inFlight.keys()]) {
      if (path.startsWith(`${prefix}/`) && !path.slice(prefix.length + 1).includes("/")) names.add(path);
    }
    return [...names];
  }

  async write(path: string, data: Uint8Array): Promise<void> {
    this.throwIfFailed();
    if (objectPolicy(path).stage !== "objects") {
      this.held.set(path, data);
      return;
    }
    await this.schedule(path, { data });
  }

  /** Held like write(); at commit the backend writes it only if it is still `expected` (E_CONFLICT else). */
  async writeIf(path: string, data: Uint8Array, expected: string | null): Promise<void> {
    this.expected.set(path, expected);
    await this.write(path, data);
  }

  async readTagged(path: string): Promise<{ data: Uint8Array; tag: string } | undefined> {
    await this.settled(path);
    return this.backend.readTagged?.(path);
  }

  async putFile(path: string, localFile: string): Promise<void> {
    this.throwIfFailed();
    await this.schedule(path, { file: localFile });
  }

  tempPath(): Promise<string> {
    return this.backend.tempPath();
  }

  async delete(path: string): Promise<void> {
    this.held.delete(path);
    await this.settled(path);
    await this.backend.delete(path);
  }

  /**
   * Waits for every object upload, then writes the held metadata, roots and pointers, one stage after
   * the other. Throws the first failure; nothing of a later stage is written after a failure.
   */
  async commit(): Promise<void> {
    await this.drain();
    for (const stage of STAGE_ORDER.slice(1)) {
      const paths = [...this.held.keys()].filter((p) => objectPolicy(p).stage === stage).sort(rootOrder);
      if (paths.length === 0) continue;
      this.options.onEvent?.({ type: "upload-stage", stage, objects: paths.length });
      if (stage === "metadata") {
        for (const path of paths) await this.schedule(path, { data: this.held.get(path)! });
        await this.drain();
      } else {
        // Roots in version order (a client walks them one by one), then each pointer: one at a time.
        for (const path of paths) await this.upload(path, { data: this.held.get(path)! });
      }
      for (const path of paths) this.held.delete(path);
    }
  }

  /** After a failed publish: waits for uploads in flight (their errors are dropped) and forgets held writes. */
  async abandon(): Promise<void> {
    this.failure ??= new FerryError("E_ABORTED", `The publish to ${this.location} was abandoned.`);
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight.values()]);
    this.held.clear();
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private async settled(path: string): Promise<void> {
    await this.inFlight.get(path)?.catch(() => undefined);
  }

  private async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight.values()]);
    this.throwIfFailed();
  }

  /** Starts an upload once a slot is free (back-pressure on the producer); returns when it has started. */
  private async schedule(path: string, body: Body): Promise<void> {
    if (this.inFlight.has(path)) {
      await this.settled(path);
      this.throwIfFailed();
    }
    while (this.active >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.throwIfFailed();
    this.active++;
    const running = this.upload(path, body)
      .catch(async (error: unknown) => {
        this.failure ??= error;
        if ("file" in body) await unlink(body.file).catch(() => undefined);
      })
      .finally(() => {
        this.active--;
        this.inFlight.delete(path);
        this.waiting.shift()?.();
      });
    this.inFlight.set(path, running);
  }

  /** Put-if-absent for content-addressed objects (same size present: skip), with retries. */
  private async upload(path: string, body: Body): Promise<void> {
    const policy = objectPolicy(path);
    const size =
      "data" in body
        ? body.data.length
        : (await stat(body.file).catch((e: unknown) => Promise.reject(ioError("stat", body.file, e)))).size;
    this.started++;
    const present = policy.immutable ? await this.retrying(path, () => this.backend.head(path)) : undefined;
    // Small mutable files other than pointers (ferry-repo.json, roots) are rewritten only when they differ.
    const same =
      policy.stage === "roots" && "data" in body
        ? Buffer.from(body.data).equals(
            (await this.retrying(path, () => this.backend.read(path))) ?? new Uint8Array(0),
          ) && body.data.length > 0
        : false;
    const skipped = present?.size === size || same;
    if (skipped) {
      if ("file" in body) await unlink(body.file).catch(() => undefined);
    } else {
      const expected = this.expected.get(path);
      await this.retrying(path, () =>
        "file" in body
          ? this.backend.putFile(path, body.file)
          : expected !== undefined && this.backend.writeIf
            ? this.backend.writeIf(path, body.data, expected)
            : this.backend.write(path, body.data),
      );
    }
    this.options.onEvent?.({
      type: "upload",
      path,
      bytes: size,
      skipped,
      done: ++this.done,
      started: this.started,
    });
  }

  /** The client's retry policy (src/client/remote/retry.ts) around one store operation. */
  private async retrying<T>(path: string, work: () => Promise<T>): Promise<T> {
    const sleep = this.options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    return retrying(
      {
        maxAttempts: this.maxAttempts,
        sleep: (ms) => sleep(ms),
        backoffMs: this.options.backoffMs ?? ((n: number) => Math.min(8000, 500 * 2 ** (n - 1))),
        onRetry: (attempt, delayMs, error) =>
          this.options.onEvent?.({
            type: "upload-retry",
            path,
            attempt,
            delayMs,
            code: error.code,
            message: error.message,
          }),
      },
      { what: `upload of ${path} to ${this.location}`, contentAddressed: false, source: () => this.location },
      work,
    );
  }
}

/** root/2.json before root/10.json; other paths by name. */
function rootOrder(a: string, b: string): number {
  const na = /^root\/(\d+)\.json$/.exec(a)?.[1];
  const nb = /^root\/(\d+)\.json$/.exec(b)?.[1];
  if (na !== undefined && nb !== undefined) return Number(na) - Number(nb);
  return a < b ? -1 : a > b ? 1 : 0;
}
