import { FerryError } from "../core/errors.js";
import { DirectoryStore, type RepoStore } from "./repo-store.js";
import type { S3SdkImporter } from "./s3-sdk.js";
import type { S3StoreOptions } from "./s3-store.js";

/** S3 settings beside an s3:// repository; each falls back to an environment variable (docs/HOSTING.md). */
export interface S3Settings {
  /** FERRY_S3_ENDPOINT, else the SDK's AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL. */
  readonly endpoint?: string;
  /** FERRY_S3_REGION, else the SDK's AWS_REGION / profile. */
  readonly region?: string;
  /** FERRY_S3_PATH_STYLE=1. */
  readonly pathStyle?: boolean;
  /** FERRY_S3_MULTIPART_THRESHOLD (bytes). */
  readonly multipartThreshold?: number;
  /** FERRY_S3_PART_SIZE (bytes). */
  readonly partSize?: number;
}

/** `s3://bucket/prefix` → bucket and prefix; undefined for anything else (a directory). */
export function parseS3Url(repo: string): { bucket: string; prefix: string } | undefined {
  if (!repo.startsWith("s3://")) return undefined;
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(repo);
  const prefix = (match?.[2] ?? "").replace(/\/+$/, "");
  const badSegment = prefix !== "" && prefix.split("/").some((s) => s === "" || s === "." || s === "..");
  if (!match || badSegment) {
    throw new FerryError(
      "E_USAGE",
      `${JSON.stringify(repo)} is not a valid S3 repository: use s3://bucket or s3://bucket/some/prefix (lowercase bucket name).`,
      { repo },
    );
  }
  return { bucket: match[1]!, prefix };
}

/**
 * The store for a --repo value: a directory path, or s3://bucket/prefix through the AWS SDK (loaded
 * only then, so directory publishing and the client never load it; E_MISSING_DEPENDENCY when it is not
 * installed). `importSdk` replaces the SDK's import (tests simulate a missing package).
 */
export async function openStore(
  repo: string | RepoStore,
  settings: S3Settings = {},
  env: Readonly<Record<string, string | undefined>> = process.env,
  importSdk?: S3SdkImporter,
): Promise<RepoStore> {
  if (typeof repo !== "string") return repo;
  const s3 = parseS3Url(repo);
  if (!s3) return new DirectoryStore(repo);
  const number = (name: string, value: number | undefined): number | undefined => {
    const raw = value ?? (env[name] === undefined ? undefined : Number(env[name]));
    if (raw !== undefined && !(Number.isSafeInteger(raw) && raw > 0)) {
      throw new FerryError(
        "E_USAGE",
        `${name} must be a positive number of bytes (got ${String(env[name] ?? value)}).`,
      );
    }
    return raw;
  };
  const endpoint = settings.endpoint ?? env.FERRY_S3_ENDPOINT;
  const region = settings.region ?? env.FERRY_S3_REGION;
  const pathStyle =
    settings.pathStyle ??
    (env.FERRY_S3_PATH_STYLE === undefined ? undefined : /^(1|true|yes)$/i.test(env.FERRY_S3_PATH_STYLE));
  const multipartThreshold = number("FERRY_S3_MULTIPART_THRESHOLD", settings.multipartThreshold);
  const partSize = number("FERRY_S3_PART_SIZE", settings.partSize);
  const options: S3StoreOptions = {
    ...s3,
    ...(endpoint !== undefined ? { endpoint } : {}),
    ...(region !== undefined ? { region } : {}),
    ...(pathStyle !== undefined ? { forcePathStyle: pathStyle } : {}),
    ...(multipartThreshold !== undefined ? { multipartThreshold } : {}),
    ...(partSize !== undefined ? { partSize } : {}),
  };
  const { S3Store } = await import("./s3-store.js");
  return S3Store.open(options, importSdk);
}
