import { canonicalJson } from "../../core/canonical-json.js";
import { FerryError } from "../../core/errors.js";
import { checkFormatHeader, JsonReader, parseJson } from "../../core/json-reader.js";
import type { ManifestRef } from "../../core/pointer.js";
import type { FileSystem } from "../../ports/fs.js";
import type { InstallLayout } from "./layout.js";

export interface StatCacheEntry {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: string;
}

/** A stat-cache file: SHA-256 of its bytes (its name under `.ferry/stats/`) and its number of entries. */
export interface StatCacheRef {
  readonly hash: string;
  readonly entries: number;
}

/** `.ferry/state.json`, docs/FORMAT.md §7. */
export interface InstallState {
  readonly channel: string;
  readonly repo: string;
  readonly version: string;
  readonly serial: number;
  readonly manifest: ManifestRef;
  readonly pointer: unknown;
  /**
   * After a rollback: the signed pointer that named the installed (older) release, since `pointer` stays
   * the newest one seen (rollback protection). Absent otherwise. Verified like `pointer` where used.
   */
  readonly pinPointer?: unknown;
  /** The newest root metadata document this install verified (docs/FORMAT.md §6). */
  readonly root: unknown;
  /**
   * Key ids the install was first trusted with (--trust keys, or a shipped root's root keys). A later
   * --trust must name these or keys of the stored root's root role, so a wrong key is reported, not ignored.
   */
  readonly trustedKeys: readonly string[];
  readonly files: Readonly<Record<string, StatCacheEntry>>;
  /**
   * A large install's stat cache lives in `.ferry/stats/<hash>` instead (stat-cache.ts); `files` is then
   * empty. readState loads it into `files`; readStoredState leaves it where it is.
   */
  readonly statCache?: StatCacheRef;
  /** Installed packages (docs/PACKAGES.md); absent in older states: every package of the release. */
  readonly packages?: readonly string[];
  /** Paths fetched on demand outside the installed packages (absent: none). */
  readonly paths?: readonly string[];
  /** Read-only base directory the install overlays (absent: none). */
  readonly base?: string;
  /** Runtime the installed release was published for (absent: it declared none). */
  readonly runtime?: string;
}

export function stateToJson(state: InstallState): unknown {
  return { format: 1, type: "ferry-install", ...state };
}

export function parseState(json: unknown, document: string): InstallState {
  const r = new JsonReader(document, json);
  checkFormatHeader(r, "ferry-install");
  const m = r.object("manifest");
  r.object("root"); // an object here; verified as root metadata where it is used
  r.object("files"); // an object (its entries are checked below)
  const files = parseStatCache((json as { files: Record<string, unknown> }).files, document);
  let statCache: StatCacheRef | undefined;
  if (r.has("statCache")) {
    const c = r.object("statCache");
    statCache = { hash: c.string("hash", /^[0-9a-f]{64}$/), entries: c.integer("entries", 1) };
    if (Object.keys(files).length > 0) {
      throw new FerryError("E_FORMAT", `${document} is malformed: files must be empty with statCache.`, {
        document,
      });
    }
  }
  return {
    channel: r.string("channel"),
    repo: r.string("repo"),
    version: r.string("version"),
    serial: r.integer("serial"),
    manifest: {
      hash: m.string("hash", /^[0-9a-f]{64}$/),
      size: m.integer("size", 1),
      codec: "br",
      rawSize: m.integer("rawSize", 1),
    },
    pointer: (json as { pointer: unknown }).pointer,
    root: (json as { root: unknown }).root,
    trustedKeys: r.array("trustedKeys").map((id, i) => {
      if (typeof id !== "string" || !/^[0-9a-f]{64}$/.test(id)) {
        throw new FerryError("E_FORMAT", `${document} is malformed: trustedKeys[${i}] should be a key id.`, {
          document,
        });
      }
      return id;
    }),
    files,
    ...(statCache ? { statCache } : {}),
    ...(r.has("pinPointer") ? { pinPointer: (json as { pinPointer: unknown }).pinPointer } : {}),
    ...optionalContentFields(r, document),
  };
}

const INO = /^\d{1,40}$/;

/**
 * The stat cache, validated in place: the parsed entries are kept rather than copied (a large install
 * has hundreds of thousands, docs/BENCHMARKS.md scale). An entry with extra fields is copied without them.
 */
function parseStatCache(files: Record<string, unknown>, document: string): Record<string, StatCacheEntry> {
  for (const path in files) {
    const f = files[path] as Record<string, unknown> | null;
    const valid =
      typeof f === "object" &&
      f !== null &&
      !Array.isArray(f) &&
      Number.isSafeInteger(f["size"]) &&
      (f["size"] as number) >= 0 &&
      Number.isSafeInteger(f["mtimeMs"]) && // before 1970 is possible (archives)
      typeof f["ino"] === "string" &&
      INO.test(f["ino"]);
    if (!valid) {
      throw new FerryError(
        "E_FORMAT",
        `${document} is malformed: files[${JSON.stringify(path)}] should be {size, mtimeMs, ino}: the install state is damaged.`,
        { document, path },
      );
    }
    if (Object.keys(f).length !== 3) files[path] = { size: f["size"], mtimeMs: f["mtimeMs"], ino: f["ino"] };
  }
  return files as Record<string, StatCacheEntry>;
}

/** The optional fields of docs/PACKAGES.md; older states lack them and still parse. */
function optionalContentFields(
  r: JsonReader,
  document: string,
): Pick<InstallState, "packages" | "paths" | "base" | "runtime"> {
  const strings = (field: string): string[] =>
    r.array(field).map((v, i) => {
      if (typeof v !== "string") {
        throw new FerryError("E_FORMAT", `${document} is malformed: ${field}[${i}] should be a string.`, {
          document,
        });
      }
      return v;
    });
  return {
    ...(r.has("packages") ? { packages: strings("packages") } : {}),
    ...(r.has("paths") ? { paths: strings("paths") } : {}),
    ...(r.has("base") ? { base: r.string("base") } : {}),
    ...(r.has("runtime") ? { runtime: r.string("runtime") } : {}),
  };
}

/** The install state as stored: a large install's stat cache stays in its file (see stat-cache.ts). */
export async function readStoredState(
  fs: FileSystem,
  layout: InstallLayout,
): Promise<InstallState | undefined> {
  if (!(await fs.stat(layout.state))) return undefined;
  return parseState(parseJson(layout.state, await fs.readFile(layout.state)), layout.state);
}

export function encodeState(state: InstallState): Uint8Array {
  return new TextEncoder().encode(canonicalJson(stateToJson(state)));
}
