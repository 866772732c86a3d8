/**
 * `ferry/publisher`: publishing releases to a repository (a directory, or s3:// with the optional peer
 * dependency @aws-sdk/client-s3, loaded only when an S3 store is opened), keys, roots, rollouts,
 * re-signing, pruning, reports and the Cocos Creator manifests.
 */
export {
  type CocosFromRepoOptions,
  type CocosFromRepoResult,
  cocosFromRepository,
} from "../cocos/from-repo.js";
export {
  type CocosManifestOptions,
  type CocosManifestResult,
  writeCocosManifests,
} from "../cocos/generate.js";
export { FerryError, type FerryErrorCode, isFerryError } from "../core/errors.js";
export { type PublicKey, type SigningKey } from "../core/keys.js";
export { generateKeyPair, parsePrivateKey, parsePublicKey } from "../node/node-keys.js";
export { keygen } from "../publisher/keygen.js";
export { openStore, parseS3Url, type S3Settings } from "../publisher/open-store.js";
export * from "../publisher/prune.js";
export { type PublishEvent, type PublishOptions, type PublishResult, publish } from "../publisher/publish.js";
export * from "../publisher/plan-publish.js";
export * from "../publisher/report.js";
export { DirectoryStore, type RepoStore } from "../publisher/repo-store.js";
export { type ResignOptions, resign, rotateAndResign } from "../publisher/resign.js";
export { haltRollout, setRollout } from "../publisher/rollout.js";
export { initRoot, type RootChange, rotateRoot } from "../publisher/roots.js";
export type { S3StoreOptions } from "../publisher/s3-store.js";
export type { UploadEvent, UploadSessionOptions } from "../publisher/upload-session.js";
