/** Typed progress events of the client library; the CLI renders them, the library never prints. */
export type RangeMode = "multi" | "single" | "full";

export type UpdateEvent =
  | { readonly type: "recovered"; readonly journal: string }
  | {
      readonly type: "pointer";
      readonly version: string;
      readonly serial: number;
      readonly installedVersion: string | null;
    }
  | {
      readonly type: "plan";
      readonly version: string;
      readonly filesToWrite: number;
      readonly filesToKeep: number;
      readonly filesToDelete: number;
      readonly chunksToFetch: number;
      /** Files to rebuild from a binary delta (their delta objects are among chunksToFetch unless staged). */
      readonly deltasToApply: number;
      readonly downloadBytes: number;
      readonly writeBytes: number;
    }
  | { readonly type: "download"; readonly bytes: number; readonly totalBytes: number }
  | { readonly type: "range-mode"; readonly mode: RangeMode; readonly reason: string; readonly url: string }
  | {
      readonly type: "retry";
      readonly url: string;
      readonly attempt: number;
      readonly delayMs: number;
      readonly code: string;
      readonly message: string;
    }
  /** A mirror failed for `path` (repository-relative); the object is fetched from `to` instead. */
  | {
      readonly type: "mirror";
      readonly path: string;
      readonly from: string;
      readonly to: string;
      readonly code: string;
      readonly message: string;
    }
  | { readonly type: "assemble"; readonly path: string; readonly done: number; readonly total: number }
  | { readonly type: "commit"; readonly moves: number; readonly deletes: number };

export type EventSink = (event: UpdateEvent) => void;
