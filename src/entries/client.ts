/**
 * `ferry/client`: the client API (operations, events, errors and the types they take and return), without
 * the Node adapters (`ferry/node`), the publisher or the servers. Thin re-exports: each name lives in its
 * layer; this file only chooses what is public.
 */
export type { ClientDeps } from "../client/context.js";
export type {
  LifecycleEvent,
  LifecyclePhase,
  LifecycleSink,
  RangeMode,
  UpdateEvent,
} from "../client/events.js";
export { type BackgroundChecker, startBackgroundChecks } from "../client/ops/background-check.js";
export { type CanUpdateResult, type FirstInstallDirectory, canUpdate } from "../client/ops/can-update.js";
export { type CheckAnswer, type CheckSource, cachedCheck } from "../client/ops/check-cache.js";
export {
  type ContentRequest,
  type EnsureOptions,
  ensure,
  missing,
  type MissingFile,
  type MissingResult,
} from "../client/ops/ensure.js";
export {
  type StatusResult,
  status,
  type VerifyProblem,
  type VerifyResult,
  verify,
} from "../client/ops/inspect.js";
export {
  DEFAULT_MAX_UNHEALTHY_LAUNCHES,
  markHealthy,
  open,
  type OpenOptions,
  type OpenResult,
  type RollbackCode,
  type RollbackResult,
  rollback,
} from "../client/ops/launch.js";
export {
  createUpdater,
  type LifecycleOptions,
  type LifecycleSnapshot,
  Updater,
} from "../client/ops/lifecycle.js";
export { type UnblockOptions, type UnblockResult, unblock } from "../client/ops/unblock.js";
export type { LifecycleStatus } from "../client/ops/lifecycle-status.js";
export {
  type ChangePackagesOptions,
  changePackages,
  listPackages,
  type PackageInfo,
} from "../client/ops/packages.js";
export { type RepairOptions, type RepairResult, repair } from "../client/ops/repair.js";
export type { ReselectOptions, ReselectResult } from "../client/ops/reselect.js";
export type { SimulateMode, SimulateOptions } from "../client/ops/simulate.js";
export {
  type CheckResult,
  check,
  type UpdateOptions,
  type UpdateSummary,
  update,
} from "../client/ops/update.js";
export type { BlockedRelease, Health } from "../client/install/health.js";
export { type OverlayHit, resolveOverlay } from "../client/install/overlay.js";
export { readUpdateLog, type UpdateLogEntry } from "../client/install/update-log.js";
export { INCREMENTAL_MIN_FILES, type VerifyMode } from "../client/plan/incremental.js";
export type { DownloadInfo, Refusal, RefusalHook } from "../client/plan/policy.js";
export { applyRuntimeGate, listSetAside } from "../client/ops/runtime-gate.js";
export type { SetAsideRecord } from "../client/plan/runtime.js";
export type { TrustAnchor, TrustOption } from "../client/remote/trust.js";
export { FerryError, type FerryErrorCode, isFerryError } from "../core/errors.js";
export { type LifecycleState, transition } from "../core/lifecycle.js";
export type { FileEntry, Manifest } from "../core/manifest.js";
export type { ReleaseRef, Rollout } from "../core/pointer.js";
export { rolloutBucket } from "../core/release-policy.js";
export { compareVersions } from "../core/version.js";
export type { PublicKey } from "../core/keys.js";
export type { Clock } from "../ports/clock.js";
export type { FileStat, FileSystem, FileWriter, VolumeSpace } from "../ports/fs.js";
export type { Transport, TransportRequest, TransportResponse } from "../ports/transport.js";
// A host other than Node registers its adapters once (src/client/defaults.ts), or passes them per call.
export { type DefaultDeps, registerDefaults } from "../client/defaults.js";
