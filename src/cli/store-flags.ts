import { FerryError } from "../core/errors.js";
import { openStore, type S3Settings } from "../publisher/open-store.js";
import type { RepoStore } from "../publisher/repo-store.js";

/** The --s3-* flags; unset ones fall back to FERRY_S3_* variables in openStore. */
export function s3Settings(values: {
  readonly "s3-endpoint"?: string | undefined;
  readonly "s3-region"?: string | undefined;
  readonly "s3-path-style"?: boolean | undefined;
}): S3Settings {
  return {
    ...(values["s3-endpoint"] !== undefined ? { endpoint: values["s3-endpoint"] } : {}),
    ...(values["s3-region"] !== undefined ? { region: values["s3-region"] } : {}),
    ...(values["s3-path-style"] ? { pathStyle: true } : {}),
  };
}

/** Runs `work` on the store for --repo, closing an S3 store's connections afterwards. */
export async function withStore<T>(
  repo: string,
  settings: S3Settings,
  work: (store: RepoStore) => Promise<T>,
): Promise<T> {
  const store = await openStore(repo, settings);
  try {
    return await work(store);
  } finally {
    await store.close?.();
  }
}

/** --mirror values, each possibly a comma-separated list, in order; blanks are refused. */
export function mirrorList(values: readonly string[] | undefined): string[] {
  const urls = (values ?? []).flatMap((v) => v.split(",")).map((v) => v.trim());
  if (urls.some((u) => u === "")) {
    throw new FerryError(
      "E_USAGE",
      "--mirror has an empty URL; give URLs separated by commas. Run 'ferry --help' for usage.",
    );
  }
  return urls;
}
