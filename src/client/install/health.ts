import { canonicalJson } from "../../core/canonical-json.js";
import { FerryError } from "../../core/errors.js";
import { checkFormatHeader, JsonReader, parseJson } from "../../core/json-reader.js";
import { VERSION_PATTERN } from "../../core/manifest.js";
import type { Context } from "../context.js";

/** A release this install refuses to install again (docs/ROLLBACK.md). */
export interface BlockedRelease {
  readonly release: string;
  readonly version: string;
  readonly code: string;
  readonly message: string;
  readonly time: string;
}

/** `.ferry/health.json`: launches of the installed release before it was marked healthy, and blocks. */
export interface Health {
  /** Manifest hash the counters are about; counters reset when the installed release changes. */
  readonly release: string | null;
  readonly launches: number;
  readonly healthy: boolean;
  /** A crash loop was found but there was nothing to roll back to (logged once). */
  readonly exhausted: boolean;
  readonly blocked: readonly BlockedRelease[];
}

/** Blocks kept; the oldest is forgotten first (a blocked release is old news once newer ones exist). */
export const MAX_BLOCKED = 32;

const EMPTY: Health = { release: null, launches: 0, healthy: false, exhausted: false, blocked: [] };
const HASH = /^[0-9a-f]{64}$/;

export async function readHealth(ctx: Pick<Context, "fs" | "layout">): Promise<Health> {
  const path = ctx.layout.health;
  if (!(await ctx.fs.stat(path))) return EMPTY;
  const json = parseJson(path, await ctx.fs.readFile(path));
  const r = new JsonReader(path, json);
  checkFormatHeader(r, "ferry-health");
  return {
    release:
      r.has("release") && (json as { release: unknown }).release !== null ? r.string("release", HASH) : null,
    launches: r.integer("launches"),
    healthy: r.boolean("healthy"),
    exhausted: r.boolean("exhausted"),
    blocked: r.objects("blocked").map((b) => ({
      release: b.string("release", HASH),
      version: b.string("version", VERSION_PATTERN),
      code: b.string("code"),
      message: b.string("message"),
      time: b.string("time"),
    })),
  };
}

export async function writeHealth(ctx: Pick<Context, "fs" | "layout">, health: Health): Promise<void> {
  const json = { format: 1, type: "ferry-health", ...health, blocked: health.blocked.slice(-MAX_BLOCKED) };
  await ctx.fs.writeFileAtomic(ctx.layout.health, new TextEncoder().encode(canonicalJson(json)));
}

/** The counters for `release`: kept when they are about it, fresh otherwise (blocks always kept). */
export function healthFor(health: Health, release: string): Health {
  return health.release === release
    ? health
    : { ...health, release, launches: 0, healthy: false, exhausted: false };
}

export function isBlocked(health: Health, release: string): BlockedRelease | undefined {
  return health.blocked.find((b) => b.release === release);
}

/**
 * The install's random id (128 bits, hex), created once under the lock and never changed: the input of
 * rollout bucketing. Copying an install copies its id (and its bucket).
 */
export async function ensureInstallId(ctx: Pick<Context, "fs" | "layout" | "host">): Promise<string> {
  const path = ctx.layout.installId;
  if (await ctx.fs.stat(path)) return readInstallId(ctx);
  const id = ctx.host.randomId(16);
  await ctx.fs.mkdirp(ctx.layout.ferry);
  await ctx.fs.writeFileAtomic(path, new TextEncoder().encode(`${id}\n`));
  return id;
}

/**
 * The install id for a read-only operation (check): the stored one, or, before the first update stored
 * one, a fresh id used for this answer only (the rollout bucket it gives is the one a new install would
 * draw, not yet this install's: the first update stores its own).
 */
export async function peekInstallId(ctx: Pick<Context, "fs" | "layout" | "host">): Promise<string> {
  return (await ctx.fs.stat(ctx.layout.installId)) ? readInstallId(ctx) : ctx.host.randomId(16);
}

export async function readInstallId(ctx: Pick<Context, "fs" | "layout">): Promise<string> {
  const path = ctx.layout.installId;
  const text = new TextDecoder().decode(await ctx.fs.readFile(path)).trim();
  if (!/^[0-9a-f]{32}$/.test(text)) {
    throw new FerryError(
      "E_FORMAT",
      `${path} should hold 32 hex characters (the install id). Delete it to get a new id (and a new rollout bucket).`,
      { path },
    );
  }
  return text;
}
