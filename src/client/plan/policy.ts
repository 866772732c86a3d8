import { FerryError, isFerryError } from "../../core/errors.js";
import { type Plan } from "../../core/planner.js";
import { canonicalJson } from "../../core/canonical-json.js";
import { checkFreshness, type SignedPointer } from "../../core/pointer.js";
import { belowMinimum, type Selection, selectRelease } from "../../core/release-policy.js";
import type { Context } from "../context.js";
import { ensureInstallId, isBlocked, peekInstallId, readHealth } from "../install/health.js";
import type { InstallState } from "../install/state.js";
import { appendUpdateLog, readUpdateLogEntries } from "../install/update-log.js";

/** What a refusal hook is told before anything is downloaded. */
export interface DownloadInfo {
  readonly version: string;
  readonly installedVersion: string | null;
  readonly downloadBytes: number;
  readonly writeBytes: number;
  /** Free bytes on the install's volume now. */
  readonly availableBytes: number;
  readonly mandatory: boolean;
}

/** A hook's refusal: a short reason ("metered", "low-disk", ...) and a sentence for the log. */
export interface Refusal {
  readonly reason: string;
  readonly message: string;
}

/** Caller-supplied: return a Refusal to stop the update before it downloads (recorded in the log). */
export type RefusalHook = (info: DownloadInfo) => Refusal | undefined | Promise<Refusal | undefined>;

export interface PolicyOptions {
  readonly allowDowngrade?: boolean;
  readonly beforeDownload?: RefusalHook;
}

/** The release chosen from a verified pointer for this install, and the pointer's policy. */
export interface PolicyView {
  readonly selection: Selection;
  readonly mandatory: boolean;
  readonly minVersion: string | null;
  /** The installed version is below the pointer's minimum: update before playing. */
  readonly mustUpdate: boolean;
}

/**
 * Logs a refusal and returns the error to throw. The same refusal as the newest entry is not logged
 * again: a background checker meeting a blocked release every few minutes must not flood the log.
 */
async function refused(
  ctx: Context,
  error: FerryError,
  version: string,
  release: string | null,
): Promise<FerryError> {
  const last = (await readUpdateLogEntries(ctx)).at(-1);
  const repeated =
    last?.kind === "refused" &&
    last.code === error.code &&
    last.release === release &&
    last.message === error.message;
  if (!repeated && !ctx.readOnly) {
    await appendUpdateLog(ctx, {
      kind: "refused",
      code: error.code,
      message: error.message,
      version,
      release,
    });
  }
  return error;
}

/**
 * Chooses the release this install takes from a verified pointer (rollout bucket, halt), refuses a
 * blocked release, and checks expiry and rollback against the chosen release. Returns the pointer with
 * the chosen release in place of the pointer's own (same signed document). Refusals are logged.
 * A channel switch compares versions only: serials of different channels are unrelated.
 */
export async function choosePointerRelease(
  ctx: Context,
  pointer: SignedPointer,
  state: InstallState | undefined,
  started: Date,
  rotated: boolean,
  url: string,
  options: PolicyOptions,
): Promise<{ pointer: SignedPointer; policy: PolicyView }> {
  const body = pointer.body;
  // The id exists only once a rollout needs it (a bucket); no rollout, no file.
  const installId = !body.rollout ? "" : ctx.readOnly ? await peekInstallId(ctx) : await ensureInstallId(ctx);
  const selection = await selectRelease(
    ctx.crypto,
    body,
    installId,
    state && { version: state.version, manifest: state.manifest },
  );
  const chosen = { ...body, version: selection.target.version, manifest: selection.target.manifest };
  const blocked = isBlocked(await readHealth(ctx), chosen.manifest.hash);
  if (blocked && chosen.manifest.hash !== state?.manifest.hash) {
    throw await refused(
      ctx,
      new FerryError(
        "E_BLOCKED",
        `Release ${blocked.version} is blocked on ${ctx.layout.root} since ${blocked.time} (${blocked.code}: ${blocked.message}). It will not be installed again; a newer release will be.`,
        { version: blocked.version, release: blocked.release, reason: blocked.code },
      ),
      blocked.version,
      blocked.release,
    );
  }
  const switching = state !== undefined && state.channel !== body.channel;
  // The very pointer document this install already saw at this serial (kept in the state): not a replay,
  // even though the installed release differs from the one it names. This is the install after a
  // rollback (which keeps the newest pointer) taking the release again once it is unblocked.
  const seenBefore =
    state !== undefined &&
    !switching &&
    state.serial === body.serial &&
    canonicalJson(state.pointer) === canonicalJson(pointer.document);
  const installed =
    state === undefined || rotated
      ? undefined
      : {
          serial: switching ? 0 : state.serial,
          manifestHash: switching ? "" : seenBefore ? chosen.manifest.hash : state.manifest.hash,
          version: state.version,
        };
  try {
    if (selection.downgradeAuthorised && installed && body.serial <= installed.serial) {
      throw new FerryError(
        "E_ROLLBACK",
        `The channel pointer ${url} halts ${state?.version} but has serial ${body.serial}, not above the installed ${installed.serial}: a replayed pointer cannot authorise going back.`,
        { url, serial: body.serial, installedSerial: installed.serial },
      );
    }
    checkFreshness(
      chosen,
      started,
      installed,
      url,
      options.allowDowngrade === true || selection.downgradeAuthorised,
    );
  } catch (error) {
    if (isFerryError(error, "E_ROLLBACK"))
      throw await refused(ctx, error, chosen.version, chosen.manifest.hash);
    throw error;
  }
  return {
    pointer: { body: chosen, document: pointer.document },
    policy: {
      selection,
      mandatory: body.mandatory === true,
      minVersion: body.minVersion ?? null,
      mustUpdate: belowMinimum(body, state?.version),
    },
  };
}

/** Runs the caller's refusal hook before a download; a refusal is logged and thrown as E_REFUSED. */
export async function runRefusalHook(
  ctx: Context,
  hook: RefusalHook | undefined,
  target: { version: string; release: string; installedVersion: string | null; mandatory: boolean },
  plan: Plan,
): Promise<void> {
  if (!hook) return;
  const volume = await ctx.fs.freeSpace(ctx.layout.ferry);
  const refusal = await hook({
    version: target.version,
    installedVersion: target.installedVersion,
    downloadBytes: plan.downloadBytes,
    writeBytes: plan.writeBytes,
    availableBytes: volume.available,
    mandatory: target.mandatory,
  });
  if (!refusal) return;
  throw await refused(
    ctx,
    new FerryError(
      "E_REFUSED",
      `The update to ${target.version} was refused by the game's policy (${refusal.reason}): ${refusal.message}`,
      { reason: refusal.reason, version: target.version },
    ),
    target.version,
    target.release,
  );
}
