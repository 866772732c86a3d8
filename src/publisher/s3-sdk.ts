/**
 * The AWS SDK for S3 is an optional peer dependency: only s3:// repositories need it, so a client-only
 * install (games, launchers) never downloads it. It is imported here, on the first S3 store, and nowhere
 * else in the library; a missing SDK becomes E_MISSING_DEPENDENCY naming the command that fixes it.
 */
import type * as AwsS3 from "@aws-sdk/client-s3";
import { FerryError } from "../core/errors.js";

/** The SDK module as S3Store uses it (client and command classes). */
export type S3Sdk = typeof AwsS3;

/** How the SDK module is imported; tests pass one that fails like a missing package. */
export type S3SdkImporter = () => Promise<S3Sdk>;

export const S3_SDK_PACKAGE = "@aws-sdk/client-s3";

const importSdk: S3SdkImporter = () => import("@aws-sdk/client-s3");

export async function loadS3Sdk(importer: S3SdkImporter = importSdk): Promise<S3Sdk> {
  try {
    return await importer();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    // The standalone executable (scripts/build-executable.ts) leaves the SDK out on purpose.
    if (code === "ERR_FERRY_STANDALONE")
      throw new FerryError(
        "E_MISSING_DEPENDENCY",
        `s3:// repositories need the AWS SDK, which the standalone ferry executable does not include: publish to S3 with the npm package (\`npm install ferry ${S3_SDK_PACKAGE}\`, then \`npx ferry publish ...\`), or publish to a folder and upload it.`,
        { package: S3_SDK_PACKAGE, standalone: true },
        { cause: error },
      );
    // ERR_MODULE_NOT_FOUND: ESM resolution failed (the package or one of its own dependencies is absent).
    if (code !== "ERR_MODULE_NOT_FOUND") throw error;
    throw new FerryError(
      "E_MISSING_DEPENDENCY",
      `s3:// repositories need the AWS SDK, an optional peer dependency of ferry that is not installed: run \`npm install ${S3_SDK_PACKAGE}\`.`,
      { package: S3_SDK_PACKAGE },
      { cause: error },
    );
  }
}
