/**
 * `ferry/core`: the formats (docs/FORMAT.md) as code, for other implementations and tools: parse,
 * validate and serialize pointers, roots, envelopes, manifests and trees; chunking, codec and delta
 * formats; signature verification; the planner; path rules; errors. Whole modules are re-exported so the
 * entry follows the core as it changes.
 */
export * from "../core/canonical-json.js";
export * from "../core/chunker.js";
export * from "../core/codec.js";
export * from "../core/delta-apply.js";
export * from "../core/delta-format.js";
export * from "../core/errors.js";
export * from "../core/hash.js";
export * from "../core/keys.js";
export * from "../core/manifest.js";
export * from "../core/packages-config.js";
export * from "../core/paths.js";
export * from "../core/planner.js";
export * from "../core/pointer.js";
export * from "../core/release-policy.js";
export * from "../core/root.js";
export * from "../core/signed.js";
export * from "../core/tree.js";
export * from "../core/tree-read.js";
export * from "../core/version.js";
// Defined alike in manifest.ts and pointer.ts: name one so the star exports are not ambiguous.
export { RUNTIME_PATTERN } from "../core/manifest.js";
