/** Ferry's library API. The CLI is a thin layer over these functions. */
export { FerryError, type FerryErrorCode, isFerryError } from "./core/errors.js";
export { generateKeyPair, parsePrivateKey, parsePublicKey, type PublicKey, type SigningKey } from "./core/keys.js";
export { DEFAULT_CHUNKING, type ChunkingParams } from "./core/chunker.js";
export type { Manifest, FileEntry } from "./core/manifest.js";
export { publish, type PublishOptions, type PublishResult, type PublishEvent } from "./publisher/publish.js";
export { keygen } from "./publisher/keygen.js";
export { update, check, type UpdateOptions, type UpdateSummary, type CheckResult } from "./client/update.js";
export { status, verify, type StatusResult, type VerifyResult } from "./client/inspect.js";
export type { UpdateEvent, RangeMode } from "./client/events.js";
export type { ClientDeps } from "./client/context.js";
export type { FileSystem } from "./ports/fs.js";
export type { Transport } from "./ports/transport.js";
export type { Clock } from "./ports/clock.js";
export { NodeFileSystem } from "./node/node-fs.js";
export { HttpTransport } from "./node/http-transport.js";
export { serveRepository } from "./server/static-server.js";
