import { FerryError } from "./errors.js";

/**
 * The one home of the names and limits a publisher writes and a client accepts: channel names,
 * runtimes, release-note size. The parsers (pointer.ts, manifest.ts) and the validators below use the
 * same constants, so a publish is refused exactly where a client would reject what it wrote.
 */
export const CHANNEL_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** A runtime name: same characters as a version. */
export const RUNTIME_PATTERN = /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/;
export const MAX_NOTES_BYTES = 16 * 1024;

/** UTF-8 size of release notes (what the manifest stores). */
export function notesBytes(notes: string): number {
  return new TextEncoder().encode(notes).length;
}

export function checkChannelName(channel: string): void {
  if (!CHANNEL_PATTERN.test(channel)) {
    throw new FerryError(
      "E_USAGE",
      `Invalid channel name ${JSON.stringify(channel)}: use lowercase letters, digits, '.', '_' or '-' (at most 64).`,
      { channel },
    );
  }
}

export function checkRuntimeName(runtime: string | undefined): void {
  if (runtime !== undefined && !RUNTIME_PATTERN.test(runtime)) {
    throw new FerryError(
      "E_USAGE",
      `Invalid runtime ${JSON.stringify(runtime)}: use letters, digits and . + _ - (at most 64).`,
      { runtime },
    );
  }
}

export function checkNotes(notes: string | undefined): void {
  if (notes === undefined) return;
  const bytes = notesBytes(notes);
  if (bytes > MAX_NOTES_BYTES) {
    throw new FerryError(
      "E_USAGE",
      `Release notes are ${bytes} bytes; at most ${MAX_NOTES_BYTES} are allowed. Link to longer notes instead.`,
      { bytes },
    );
  }
}
