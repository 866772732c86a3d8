import { randomBytes } from "node:crypto";
import { mkdtemp, open, readFile, rm, stat, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PutObjectCommand, S3Client, S3ClientConfig } from "@aws-sdk/client-s3";
import { FerryError, ioError } from "../core/errors.js";
import { objectPolicy } from "./object-policy.js";
import { conflictError, type RepoStore } from "./repo-store.js";
import type { LockOptions, RepoLock } from "./repo-lock.js";
import { loadS3Sdk, type S3Sdk, type S3SdkImporter } from "./s3-sdk.js";
import { lockS3 } from "./s3-lock.js";

export interface S3StoreOptions {
  readonly bucket: string;
  /** Key prefix without leading or trailing '/' ("" for the bucket's root). */
  readonly prefix?: string;
  /** e.g. http://127.0.0.1:9000 for MinIO, https://<account>.r2.cloudflarestorage.com for R2. */
  readonly endpoint?: string;
  /** Default: the SDK's chain (AWS_REGION, the profile's region); "us-east-1" with a custom endpoint. */
  readonly region?: string;
  /** Path-style addressing (endpoint/bucket/key), as MinIO and most S3-compatible servers want. */
  readonly forcePathStyle?: boolean;
  /** Default: the SDK's chain (environment, shared config/credentials files and profile, SSO, IMDS). */
  readonly credentials?: S3ClientConfig["credentials"];
  /** Files at least this large are sent as multipart uploads (default 64 MiB). */
  readonly multipartThreshold?: number;
  /** Part size of multipart uploads (default 16 MiB; S3 requires at least 5 MiB except for the last). */
  readonly partSize?: number;
  /** A ready client (tests, custom middleware); the options above are then ignored except bucket/prefix. */
  readonly client?: S3Client;
  /**
   * The SDK's request checksums and response validation: "WHEN_REQUIRED" for S3-compatibles that reject
   * or mangle the SDK's default CRC checksums (Ceph RGW); default the SDK's ("WHEN_SUPPORTED").
   */
  readonly checksums?: "WHEN_SUPPORTED" | "WHEN_REQUIRED";
  /** Staleness and heartbeat of the repository lock object (repo-lock.ts). */
  readonly lock?: LockOptions;
}

export const DEFAULT_MULTIPART_THRESHOLD = 64 * 1024 * 1024;
export const DEFAULT_PART_SIZE = 16 * 1024 * 1024;

/**
 * A repository in an S3-compatible bucket through the AWS SDK v3. PutObject and multipart completion
 * are atomic, so readers never see half an object. Every write carries Content-Type and Cache-Control
 * from objectPolicy. Failures become FerryErrors: E_HTTP with the status when the service answered,
 * E_NETWORK when it did not (both retried by UploadSession when transient). The SDK module is passed in
 * (S3Store.open loads it), so this file imports it for types only: an install without the optional SDK
 * can load every module of ferry and fails only when it opens an S3 store (s3-sdk.ts).
 */
export class S3Store implements RepoStore {
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly multipartThreshold: number;
  private readonly partSize: number;
  private tempDir: Promise<string> | undefined;

  /** An S3 store with the SDK imported on demand: E_MISSING_DEPENDENCY when it is not installed. */
  static async open(options: S3StoreOptions, importer?: S3SdkImporter): Promise<S3Store> {
    return new S3Store(options, await loadS3Sdk(importer));
  }

  constructor(
    options: S3StoreOptions,
    private readonly sdk: S3Sdk,
  ) {
    this.bucket = options.bucket;
    this.prefix = (options.prefix ?? "").replace(/^\/+|\/+$/g, "");
    this.multipartThreshold = options.multipartThreshold ?? DEFAULT_MULTIPART_THRESHOLD;
    this.partSize = options.partSize ?? DEFAULT_PART_SIZE;
    if (!(this.partSize >= 1) || !(this.multipartThreshold >= 1)) {
      throw new FerryError("E_USAGE", "S3 multipart threshold and part size must be positive byte counts.");
    }
    const region = options.region ?? (options.endpoint !== undefined ? "us-east-1" : undefined);
    this.client =
      options.client ??
      new sdk.S3Client({
        ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
        ...(region !== undefined ? { region } : {}),
        ...(options.forcePathStyle !== undefined ? { forcePathStyle: options.forcePathStyle } : {}),
        ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
        ...(options.checksums !== undefined
          ? {
              requestChecksumCalculation: options.checksums,
              responseChecksumValidation: options.checksums,
            }
          : {}),
      });
    this.lockOptions = options.lock ?? {};
  }

  private readonly lockOptions: LockOptions;

  /** The lock object ferry-lock.json, created with If-None-Match: * (s3-lock.ts). */
  async lock(command: string): Promise<RepoLock> {
    return lockS3(this, command, this.lockOptions);
  }

  async readTagged(path: string): Promise<{ data: Uint8Array; tag: string; modified?: Date } | undefined> {
    try {
      const out = await this.client.send(
        new this.sdk.GetObjectCommand({ Bucket: this.bucket, Key: this.key(path) }),
      );
      const data = await out.Body!.transformToByteArray();
      return {
        data,
        tag: unquote(out.ETag ?? ""),
        ...(out.LastModified !== undefined ? { modified: out.LastModified } : {}),
      };
    } catch (error) {
      if (notFound(error)) return undefined;
      throw this.failure("read", path, error);
    }
  }

  /**
   * PutObject with If-Match: <tag> (replace) or If-None-Match: * (create): the service decides, so two
   * writers can never both succeed, even without a lock, on a store that honours them (AWS S3, R2, GCS,
   * Ceph RGW). A 412/409 whose object now holds exactly `data` was our own earlier attempt (a retry
   * after a lost answer) and counts as written.
   */
  async writeIf(path: string, data: Uint8Array, expected: string | null): Promise<void> {
    await this.putIf(path, data, expected);
  }

  /** writeIf returning the new object's tag (the lock's heartbeat chains on it). */
  async putIf(path: string, data: Uint8Array, expected: string | null): Promise<string> {
    try {
      const out = await this.client.send(
        // Unquoted: Ceph RGW compares the raw value; AWS accepts either form.
        this.putCommand(path, data, expected === null ? { IfNoneMatch: "*" } : { IfMatch: expected }),
      );
      return unquote(out.ETag ?? "");
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 412 || status === 409) {
        const now = await this.readTagged(path);
        if (now && Buffer.from(now.data).equals(data)) return now.tag;
        throw conflictError(this.location, path, expected);
      }
      throw this.failure("write", path, error);
    }
  }

  get location(): string {
    return `s3://${this.bucket}/${this.prefix}`;
  }

  private key(path: string): string {
    return this.prefix === "" ? path : `${this.prefix}/${path}`;
  }

  async read(path: string): Promise<Uint8Array | undefined> {
    try {
      const out = await this.client.send(
        new this.sdk.GetObjectCommand({ Bucket: this.bucket, Key: this.key(path) }),
      );
      return await out.Body!.transformToByteArray();
    } catch (error) {
      if (notFound(error)) return undefined;
      throw this.failure("read", path, error);
    }
  }

  async readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    if (length === 0) return new Uint8Array(0);
    try {
      const out = await this.client.send(
        new this.sdk.GetObjectCommand({
          Bucket: this.bucket,
          Key: this.key(path),
          Range: `bytes=${offset}-${offset + length - 1}`,
        }),
      );
      const bytes = await out.Body!.transformToByteArray();
      // A server ignoring Range answers with the whole object: cut out what was asked.
      return out.ContentRange === undefined ? bytes.subarray(offset, offset + length) : bytes;
    } catch (error) {
      throw this.failure("read", path, error);
    }
  }

  async head(path: string): Promise<{ size: number; modified?: Date } | undefined> {
    try {
      const out = await this.client.send(
        new this.sdk.HeadObjectCommand({ Bucket: this.bucket, Key: this.key(path) }),
      );
      return {
        size: out.ContentLength ?? 0,
        ...(out.LastModified !== undefined ? { modified: out.LastModified } : {}),
      };
    } catch (error) {
      if (notFound(error)) return undefined;
      throw this.failure("head", path, error);
    }
  }

  async exists(path: string): Promise<boolean> {
    return (await this.head(path)) !== undefined;
  }

  /** Direct children of `prefix` (objects and "directories"), as `${prefix}/${name}`. */
  async list(prefix: string): Promise<string[]> {
    const listed = `${this.key(prefix)}/`;
    const out: string[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new this.sdk.ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: listed,
            Delimiter: "/",
            ...(token !== undefined ? { ContinuationToken: token } : {}),
          }),
        );
        for (const o of page.Contents ?? []) if (o.Key) out.push(`${prefix}/${o.Key.slice(listed.length)}`);
        for (const p of page.CommonPrefixes ?? [])
          if (p.Prefix) out.push(`${prefix}/${p.Prefix.slice(listed.length).replace(/\/$/, "")}`);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
    } catch (error) {
      throw this.failure("list", prefix, error);
    }
    return out;
  }

  /** One object upload with the content type and cache policy its path calls for (objectPolicy). */
  private putCommand(
    path: string,
    data: Uint8Array,
    conditions: { readonly IfNoneMatch?: string; readonly IfMatch?: string },
  ): PutObjectCommand {
    const policy = objectPolicy(path);
    return new this.sdk.PutObjectCommand({
      Bucket: this.bucket,
      Key: this.key(path),
      Body: data,
      ContentLength: data.length,
      ContentType: policy.contentType,
      CacheControl: policy.cacheControl,
      ...conditions,
    });
  }

  async write(path: string, data: Uint8Array): Promise<void> {
    try {
      await this.client.send(this.putCommand(path, data, {}));
    } catch (error) {
      throw this.failure("write", path, error);
    }
  }

  /** Uploads a local file (multipart from multipartThreshold on), then deletes the local file. */
  async putFile(path: string, localFile: string): Promise<void> {
    let size: number;
    try {
      size = (await stat(localFile)).size;
    } catch (error) {
      throw ioError("stat", localFile, error);
    }
    if (size >= this.multipartThreshold) await this.putMultipart(path, localFile, size);
    else
      await this.write(
        path,
        await readFile(localFile).catch((e) => Promise.reject(ioError("read", localFile, e))),
      );
    await unlink(localFile).catch((e: unknown) => {
      throw ioError("delete", localFile, e);
    });
  }

  private async putMultipart(path: string, localFile: string, size: number): Promise<void> {
    const policy = objectPolicy(path);
    const key = this.key(path);
    let uploadId: string | undefined;
    try {
      const created = await this.client.send(
        new this.sdk.CreateMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          ContentType: policy.contentType,
          CacheControl: policy.cacheControl,
        }),
      );
      uploadId = created.UploadId!;
      const parts: { PartNumber: number; ETag: string }[] = [];
      const handle = await open(localFile, "r").catch((e) => Promise.reject(ioError("open", localFile, e)));
      try {
        // Parts go one at a time: memory stays one part; UploadSession runs several files in parallel.
        for (let offset = 0, number = 1; offset < size; offset += this.partSize, number++) {
          const length = Math.min(this.partSize, size - offset);
          const body = Buffer.alloc(length);
          const { bytesRead } = await handle.read(body, 0, length, offset);
          if (bytesRead !== length) throw ioError("read", localFile, new Error("file shrank during upload"));
          const part = await this.client.send(
            new this.sdk.UploadPartCommand({
              Bucket: this.bucket,
              Key: key,
              UploadId: uploadId,
              PartNumber: number,
              Body: body,
              ContentLength: length,
            }),
          );
          parts.push({ PartNumber: number, ETag: part.ETag! });
        }
      } finally {
        await handle.close();
      }
      await this.client.send(
        new this.sdk.CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    } catch (error) {
      // An abandoned upload costs storage until aborted; the abort's own failure must not hide the cause.
      if (uploadId !== undefined) {
        await this.client
          .send(
            new this.sdk.AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }),
          )
          .catch(() => undefined);
      }
      throw this.failure("multipart upload", path, error);
    }
  }

  async tempPath(): Promise<string> {
    this.tempDir ??= mkdtemp(join(tmpdir(), "ferry-s3-")).catch((e) =>
      Promise.reject(ioError("mkdtemp", tmpdir(), e)),
    );
    return join(await this.tempDir, `pack-${randomBytes(8).toString("hex")}`);
  }

  async delete(path: string): Promise<void> {
    try {
      await this.client.send(new this.sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(path) }));
    } catch (error) {
      if (!notFound(error)) throw this.failure("delete", path, error);
    }
  }

  /** Removes the local temp directory and closes the client's connections. */
  async close(): Promise<void> {
    if (this.tempDir) await rm(await this.tempDir, { recursive: true, force: true }).catch(() => undefined);
    this.client.destroy();
  }

  private failure(operation: string, path: string, error: unknown): FerryError {
    if (error instanceof FerryError) return error;
    const url = `s3://${this.bucket}/${this.key(path)}`;
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    const name = (error as { name?: string }).name ?? "Error";
    const detail = error instanceof Error ? error.message : String(error);
    if (status === undefined) {
      return new FerryError(
        "E_NETWORK",
        `S3 ${operation} of ${url} got no answer (${name}: ${detail}). Check the endpoint, network and credentials.`,
        { url, operation },
        { cause: error },
      );
    }
    const hint =
      status === 403
        ? "Check the credentials (AWS_ACCESS_KEY_ID/AWS_PROFILE) and the bucket policy."
        : status === 404 || name === "NoSuchBucket"
          ? "Check the bucket name, region and --s3-path-style."
          : "Retry later or check the service status.";
    return new FerryError(
      "E_HTTP",
      `S3 ${operation} of ${url} failed with HTTP ${status} (${name}: ${detail}). ${hint}`,
      { url, status, operation },
      { cause: error },
    );
  }
}

function unquote(etag: string): string {
  return etag.replace(/^(W\/)?"|"$/g, "");
}

function notFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  if (e.name === "NoSuchBucket") return false;
  return e.name === "NoSuchKey" || e.name === "NotFound" || e.$metadata?.httpStatusCode === 404;
}
