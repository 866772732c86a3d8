import { FerryError } from "../core/errors.js";
import { nodeBrotli } from "../node/node-codec.js";
import { sha256 } from "../node/node-crypto.js";
import type { FileSystem } from "../ports/fs.js";
import {
  DEFAULT_BLOCK_BYTES,
  DEFAULT_SOLID_MAX_FILE,
  DEFAULT_SOLID_QUALITY,
  SolidPacker,
  type SolidSettings,
} from "./solid-packer.js";

/** The publish option: off, on with the defaults, or on with some settings changed. */
export type SolidOption = boolean | Partial<SolidSettings>;

/** The packer a publish uses, or undefined when solid blocks are off. */
export function solidPacker(option: SolidOption | undefined, fs: FileSystem): SolidPacker | undefined {
  if (option === undefined || option === false) return undefined;
  const given = option === true ? {} : option;
  const settings: SolidSettings = {
    maxFileBytes: given.maxFileBytes ?? DEFAULT_SOLID_MAX_FILE,
    blockBytes: given.blockBytes ?? DEFAULT_BLOCK_BYTES,
    quality: given.quality ?? DEFAULT_SOLID_QUALITY,
  };
  if (!Number.isInteger(settings.quality) || settings.quality < 0 || settings.quality > 11) {
    throw new FerryError(
      "E_USAGE",
      `Invalid solid block Brotli quality ${settings.quality}: use an integer from 0 to 11.`,
      { quality: settings.quality },
    );
  }
  if (!Number.isSafeInteger(settings.maxFileBytes) || settings.maxFileBytes < 0) {
    throw new FerryError(
      "E_USAGE",
      `Invalid solid maxFileBytes ${settings.maxFileBytes}: use a byte count of 0 or more.`,
      { maxFileBytes: settings.maxFileBytes },
    );
  }
  return new SolidPacker(settings, nodeBrotli, fs, sha256);
}
