import type { UpdateEvent } from "../client/events.js";
import { formatBytes } from "../core/format-bytes.js";
import type { PublishEvent } from "../publisher/publish.js";

/** Terminal renderer: one self-overwriting progress line (bytes, speed, ETA) on stderr. */
export class ProgressRenderer {
  private started = Date.now();
  private lastDraw = 0;
  private drawn = false;

  constructor(private readonly out: NodeJS.WriteStream) {}

  handle(event: UpdateEvent): void {
    switch (event.type) {
      case "recovered":
        this.line(`Finished an interrupted update (journal ${event.journal}).`);
        break;
      case "plan":
        this.started = Date.now();
        this.line(
          `Updating to ${event.version}: ${event.filesToWrite} files to write, ${event.filesToKeep} unchanged, ${event.filesToDelete} to delete; downloading ${formatBytes(event.downloadBytes)}.`,
        );
        break;
      case "download":
        this.progress(event.bytes, event.totalBytes);
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

  /** A publish's upload progress: stage lines, retries, and a self-overwriting count on a terminal. */
  upload(event: PublishEvent): void {
    if (event.type === "upload-stage") this.line(`Uploading ${event.stage}: ${event.objects} object(s).`);
    else if (event.type === "upload-retry")
      this.line(
        `Retrying upload of ${event.path} in ${event.delayMs} ms (attempt ${event.attempt}): ${event.message}`,
      );
    else if (event.type === "upload" && this.out.isTTY) {
      if (event.skipped) this.skipped++;
      else this.uploadedBytes += event.bytes;
      this.out.write(
        `\rUploaded ${event.done} of ${event.started} object(s) started, ${formatBytes(this.uploadedBytes)}; ${this.skipped} already present `,
      );
      this.drawn = true;
    }
  }

  private uploadedBytes = 0;
  private skipped = 0;

  private progress(bytes: number, total: number): void {
    const now = Date.now();
    if (!this.out.isTTY || (now - this.lastDraw < 100 && bytes < total)) return;
    this.lastDraw = now;
    const width = 30;
    const fraction = total > 0 ? Math.min(1, bytes / total) : 1;
    const filled = Math.round(fraction * width);
    const seconds = Math.max(0.001, (now - this.started) / 1000);
    const speed = bytes / seconds;
    const eta = speed > 0 ? Math.max(0, (total - bytes) / speed) : 0;
    const bar = "#".repeat(filled) + "-".repeat(width - filled);
    this.out.write(
      `\r[${bar}] ${formatBytes(bytes)} / ${formatBytes(total)}  ${formatBytes(speed)}/s  ETA ${eta.toFixed(0)}s `,
    );
    this.drawn = true;
  }

  line(text: string): void {
    if (this.drawn) this.out.write("\n");
    this.drawn = false;
    this.out.write(`${text}\n`);
  }

  finish(): void {
    if (this.drawn) this.out.write("\n");
    this.drawn = false;
  }
}
