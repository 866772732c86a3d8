import type { UpdateEvent } from "../client/events.js";
import { formatBytes } from "../core/format-bytes.js";
import { RateMeter } from "../core/lifecycle.js";
import type { PublishEvent } from "../publisher/publish.js";

/** What the renderer writes to: a stream that may be a terminal (stderr, or a fake one in tests). */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

/** Redraws at most this often (the last one of a phase is always drawn). */
const REDRAW_MS = 100;
const CLEAR_TO_END = "\x1b[K";

/** Renderers with a progress line on screen, so an error message starts on a line of its own. */
const drawn = new Set<ProgressRenderer>();

/** Ends any progress line on screen (before printing an error). */
export function clearProgress(): void {
  for (const renderer of [...drawn]) renderer.finish();
}

/** `text` cut to `width` characters (with an ellipsis when cut). */
function fit(text: string, width: number): string {
  if (text.length <= width) return text;
  return width <= 1 ? text.slice(0, Math.max(0, width)) : `${text.slice(0, width - 1)}…`;
}

function seconds(s: number): string {
  const whole = Math.round(s);
  if (whole < 60) return `${whole}s`;
  if (whole < 3600) return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, "0")}s`;
  return `${Math.floor(whole / 3600)}h${String(Math.floor((whole % 3600) / 60)).padStart(2, "0")}m`;
}

/**
 * Terminal renderer of the library's typed events, on stderr. On a terminal: phase lines, and one
 * self-overwriting progress line (\r, clear to end of line) that never exceeds the terminal's width minus
 * one column; speed and ETA come from the bytes over a sliding window of wall time (RateMeter). Not on a
 * terminal: no bars and no redraws, one line per phase.
 */
export class ProgressRenderer {
  private lastDraw = 0;
  private meter = new RateMeter();
  private uploadedBytes = 0;
  private skipped = 0;

  constructor(
    private readonly out: ProgressStream,
    private readonly now: () => number = Date.now,
  ) {}

  private get tty(): boolean {
    return this.out.isTTY === true;
  }

  /** Usable width: the terminal's columns minus one (so the cursor never wraps). */
  private get width(): number {
    const columns = this.out.columns;
    return Math.max(10, (columns !== undefined && columns > 0 ? columns : 80) - 1);
  }

  handle(event: UpdateEvent): void {
    switch (event.type) {
      case "recovered":
        this.line(`Finished an interrupted update (journal ${event.journal}).`);
        break;
      case "phase":
        // Checking is one request or a few: shown on a terminal only (a log gets a line per long phase).
        if (event.phase === "checking") {
          if (this.tty) this.draw(`Checking channel ${event.channel}…`);
        } else
          this.status(
            `Planning the update to ${event.version}: comparing the release with the installed files…`,
          );
        break;
      case "plan":
        this.meter.reset();
        this.meter.add(this.now(), 0);
        this.line(
          `Updating to ${event.version}: ${event.filesToWrite} files to write, ${event.filesToKeep} unchanged, ${event.filesToDelete} to delete; downloading ${formatBytes(event.downloadBytes)}.`,
        );
        break;
      case "download":
        this.meter.add(this.now(), event.bytes);
        this.bar("", event.bytes, event.totalBytes, true);
        break;
      case "verify":
        this.status(`Verifying ${event.files} downloaded file(s)…`);
        break;
      case "assemble":
        if (this.tty) this.bar("Verifying ", event.done, event.total, false);
        break;
      case "range-mode":
        this.line(
          `Note: ${event.reason} (${event.url}); switching to ${event.mode === "full" ? "whole-pack downloads" : "single-range requests"}.`,
        );
        break;
      case "retry":
        this.line(
          `Retrying${event.url ? ` ${event.url}` : ""} in ${event.delayMs} ms (attempt ${event.attempt}): ${event.message}`,
        );
        break;
      case "metadata-bundle-fallback":
        this.line(
          `Note: metadata bundle ${event.url} unavailable (${event.code}); reading metadata objects one by one.`,
        );
        break;
      case "mirror":
        this.line(`Mirror ${event.from} failed for ${event.path} (${event.code}); using ${event.to}.`);
        break;
      case "commit":
        this.line(`Applying: ${event.moves} files in, ${event.deletes} removed.`);
        break;
      case "set-aside":
        this.line(
          `The installed ${event.version} was made for runtime ${event.runtime}, this app runs ${event.clientRuntime}: set aside in ${event.directory}; the base bundle is used until a release for ${event.clientRuntime} is installed.`,
        );
        break;
      default:
        break;
    }
  }

  /** A publish's phases, chunking progress, uploads and retries. */
  publish(event: PublishEvent): void {
    switch (event.type) {
      case "phase":
        if (event.phase === "scan") this.status(`Scanning ${event.buildDir}…`);
        else if (event.phase === "chunk") {
          this.meter.reset();
          this.meter.add(this.now(), 0);
          this.line(`Chunking and compressing ${event.files} file(s), ${formatBytes(event.bytes)}.`);
        } else if (event.phase === "delta")
          this.status(`Building binary deltas against ${event.releases} earlier release(s)…`);
        else this.status(`Writing the manifest of ${event.files} file(s)…`);
        break;
      case "chunk-progress":
        this.meter.add(this.now(), event.bytesDone);
        this.bar(
          "Chunking ",
          event.bytesDone,
          event.bytesTotal,
          true,
          `${event.newChunks}/${event.chunks} new`,
        );
        break;
      case "file":
        this.meter.add(this.now(), event.bytesDone);
        this.bar("Chunking ", event.bytesDone, event.bytesTotal, true, `${event.done}/${event.total} files`);
        break;
      case "upload-stage":
        this.line(`Uploading ${event.stage}: ${event.objects} object(s).`);
        break;
      case "upload-retry":
        this.line(
          `Retrying upload of ${event.path} in ${event.delayMs} ms (attempt ${event.attempt}): ${event.message}`,
        );
        break;
      case "upload":
        if (event.skipped) this.skipped++;
        else this.uploadedBytes += event.bytes;
        if (this.tty && this.due(event.done >= event.started))
          this.draw(
            `Uploaded ${event.done} of ${event.started} object(s) started, ${formatBytes(this.uploadedBytes)}; ${this.skipped} already present`,
          );
        break;
      default:
        break;
    }
  }

  /** The upload events of a publish (kept for callers that pass only those). */
  upload(event: PublishEvent): void {
    this.publish(event);
  }

  private due(last: boolean): boolean {
    const now = this.now();
    if (!last && now - this.lastDraw < REDRAW_MS) return false;
    this.lastDraw = now;
    return true;
  }

  /** `[####----] done / total  speed  ETA`, fitted to the width; bytes or counts. */
  private bar(label: string, done: number, total: number, bytes: boolean, extra?: string): void {
    if (!this.tty || !this.due(done >= total)) return;
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    const amounts = bytes ? `${formatBytes(done)} / ${formatBytes(total)}` : `${done} / ${total}`;
    const speed = bytes ? this.meter.bytesPerSecond() : undefined;
    const eta = bytes ? this.meter.etaSeconds(total) : undefined;
    const parts = [
      `${label}${amounts}`,
      ...(extra ? [extra] : []),
      ...(speed === undefined ? [] : [`${formatBytes(Math.round(speed))}/s`]),
      ...(eta === undefined ? [] : [`ETA ${seconds(eta)}`]),
    ];
    const text = parts.join("  ");
    const room = this.width - text.length - 3; // "[" + bar + "] "
    if (room < 8) return this.draw(text);
    const width = Math.min(40, room);
    const filled = Math.round(fraction * width);
    this.draw(`[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${text}`);
  }

  /** A step that takes a while: redrawn in place on a terminal, one line otherwise. */
  private status(text: string): void {
    if (this.tty) this.draw(text);
    else this.line(text);
  }

  private draw(text: string): void {
    this.out.write(`\r${fit(text, this.width)}${CLEAR_TO_END}`);
    drawn.add(this);
  }

  line(text: string): void {
    if (drawn.has(this)) {
      // Replace the progress line by the message (the progress is redrawn below it when it continues).
      this.out.write(`\r${CLEAR_TO_END}`);
      drawn.delete(this);
    }
    this.out.write(`${text}\n`);
  }

  /** Removes the progress line (the command's summary or error follows). */
  finish(): void {
    if (drawn.has(this)) this.out.write(`\r${CLEAR_TO_END}`);
    drawn.delete(this);
  }
}
