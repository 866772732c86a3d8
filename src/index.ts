/** Ferry's library API. The CLI is a thin layer over these functions. */

// The Node entry: operations called without deps use the Node adapters (src/client/defaults.ts).
import "./register-node.js";

export type { Host } from "./ports/host.js";
export { type DefaultDeps, registerDefaults } from "./client/defaults.js";

export type { ClientDeps } from "./client/context.js";
export type {
  LifecycleEvent,
  LifecyclePhase,
  LifecycleSink,
  RangeMode,
  UpdateEvent,
} from "./client/events.js";
export { type BackgroundChecker, startBackgroundChecks } from "./client/ops/background-check.js";
export { type CanUpdateResult, type FirstInstallDirectory, canUpdate } from "./client/ops/can-update.js";
export { type CheckAnswer, type CheckSource, cachedCheck } from "./client/ops/check-cache.js";
export {
  createUpdater,
  type LifecycleOptions,
  type LifecycleSnapshot,
  Updater,
} from "./client/ops/lifecycle.js";
export type { SimulateMode, SimulateOptions } from "./client/ops/simulate.js";
export { type LifecycleState, transition } from "./core/lifecycle.js";
export { serveUpdateScreen, type UpdateScreen } from "./ui/ui-server.js";
export {
  type StatusResult,
  status,
  type VerifyProblem,
  type VerifyResult,
  verify,
} from "./client/ops/inspect.js";
export {
  type ChangePackagesOptions,
  changePackages,
  listPackages,
  type PackageInfo,
} from "./client/ops/packages.js";
export {
  type ContentRequest,
  type EnsureOptions,
  ensure,
  missing,
  type MissingFile,
  type MissingResult,
} from "./client/ops/ensure.js";
export type { ReselectOptions, ReselectResult } from "./client/ops/reselect.js";
export { type OverlayHit, resolveOverlay } from "./client/install/overlay.js";
export { applyRuntimeGate, listSetAside } from "./client/ops/runtime-gate.js";
export type { SetAsideRecord } from "./client/plan/runtime.js";
export { compileGlob, type Glob } from "./core/glob.js";
export {
  DEFAULT_MAX_UNHEALTHY_LAUNCHES,
  markHealthy,
  open,
  type OpenOptions,
  type OpenResult,
  type RollbackCode,
  type RollbackResult,
  rollback,
} from "./client/ops/launch.js";
export { type UnblockOptions, type UnblockResult, unblock } from "./client/ops/unblock.js";
export type { LifecycleStatus } from "./client/ops/lifecycle-status.js";
export type { BlockedRelease, Health } from "./client/install/health.js";
export type { DownloadInfo, Refusal, RefusalHook } from "./client/plan/policy.js";
export { readUpdateLog, type UpdateLogEntry } from "./client/install/update-log.js";
export { rolloutBucket } from "./core/release-policy.js";
export type { ReleaseRef, Rollout } from "./core/pointer.js";
export { haltRollout, setRollout } from "./publisher/rollout.js";
export { type RepairOptions, type RepairResult, repair } from "./client/ops/repair.js";
export type { TrustAnchor, TrustOption } from "./client/remote/trust.js";
export {
  type CheckResult,
  check,
  type UpdateOptions,
  type UpdateSummary,
  update,
} from "./client/ops/update.js";
export { INCREMENTAL_MIN_FILES, type VerifyMode } from "./client/plan/incremental.js";
export { type ChunkingParams, DEFAULT_CHUNKING } from "./core/chunker.js";
export { FerryError, type FerryErrorCode, isFerryError } from "./core/errors.js";
export type { PublicKey, SigningKey } from "./core/keys.js";
export { generateKeyPair, parsePrivateKey, parsePublicKey } from "./node/node-keys.js";
export { nodeCrypto } from "./node/node-crypto.js";
export { nodeBrotli } from "./node/node-codec.js";
export type { Crypto, Sha256Hasher } from "./ports/crypto.js";
export type { Brotli } from "./ports/codec.js";
export type { FileEntry, Manifest } from "./core/manifest.js";
export {
  assertSafePath,
  assertSafePathSet,
  collisionKey,
  MAX_PATH_BYTES,
  MAX_SEGMENT_BYTES,
  type PathRule,
  type PathViolation,
  pathViolation,
} from "./core/paths.js";
export { HttpTransport } from "./node/http-transport.js";
export { NodeFileSystem } from "./node/node-fs.js";
export type { Clock } from "./ports/clock.js";
export type { FileSystem } from "./ports/fs.js";
export type { Transport } from "./ports/transport.js";
export { keygen } from "./publisher/keygen.js";
export { type PublishEvent, type PublishOptions, type PublishResult, publish } from "./publisher/publish.js";
export {
  type PackageChanges,
  type PlanPublishOptions,
  planPublish,
  type PublishPlan,
  type PublishRefusal,
} from "./publisher/plan-publish.js";
export { openStore, parseS3Url, type S3Settings } from "./publisher/open-store.js";
export { DirectoryStore, type RepoStore } from "./publisher/repo-store.js";
export type { S3StoreOptions } from "./publisher/s3-store.js";
export type { UploadEvent, UploadSessionOptions } from "./publisher/upload-session.js";
export { type ResignOptions, resign } from "./publisher/resign.js";
export { initRoot, type RootChange, rotateRoot } from "./publisher/roots.js";
export { compareVersions } from "./core/version.js";
export { serveRepository } from "./server/static-server.js";
export {
  type MountedFile,
  type MountInfo,
  Mounts,
  type MountsOptions,
  removePersistedMount,
  type Resolution,
} from "./mounts/mounts.js";
export type { MountKind } from "./mounts/layer.js";
export type { DroppedMount, PersistedMount } from "./mounts/persist.js";
export {
  type CocosManifestOptions,
  type CocosManifestResult,
  writeCocosManifests,
} from "./cocos/generate.js";
export {
  type CocosFromRepoOptions,
  type CocosFromRepoResult,
  cocosFromRepository,
} from "./cocos/from-repo.js";
