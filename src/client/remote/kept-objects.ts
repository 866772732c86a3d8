import { isFerryError } from "../../core/errors.js";
import type { Context } from "../context.js";
import { checkStoredBytes } from "./remote.js";

/** A kept object (`.ferry/objects/`) if present and intact; a damaged copy counts as absent (fetched again). */
export async function readKept(
  ctx: Context,
  path: string,
  ref: { readonly hash: string; readonly size: number },
  what: string,
): Promise<Uint8Array | undefined> {
  const stat = await ctx.fs.stat(path);
  if (!stat || stat.size !== ref.size) return undefined;
  const bytes = await ctx.fs.readFile(path);
  try {
    await checkStoredBytes(ctx.crypto, bytes, ref, path, what);
    return bytes;
  } catch (error) {
    if (isFerryError(error) && error.code === "E_HASH_MISMATCH") return undefined;
    throw error;
  }
}
