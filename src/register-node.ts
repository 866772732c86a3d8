/**
 * Imported for its effect by the Node entry points (src/index.ts, the CLI): client operations called
 * without deps use the Node adapters (see src/client/defaults.ts).
 */
import { registerDefaults } from "./client/defaults.js";
import { nodeClientDefaults } from "./node/client-defaults.js";

registerDefaults(nodeClientDefaults);
