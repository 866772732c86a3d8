/**
 * A real S3-compatible server (s3rver, a devDependency) on 127.0.0.1 for tests, with one bucket. It
 * records every object it stores (PUT, multipart completion), so tests count what a publish uploaded.
 * It also answers anonymous GETs, so the same bucket is a repository URL for the client.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as sdk from "@aws-sdk/client-s3";
import { S3Store, type S3StoreOptions } from "../publisher/s3-store.js";

interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
  on(
    event: "event",
    listener: (event: { Records: { eventName: string; s3: { object: { key: string } } }[] }) => void,
  ): void;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;

export interface TestS3Server {
  readonly endpoint: string;
  readonly bucket: string;
  /** Keys stored since start, in order, with how: "ObjectCreated:Put", or ":Post" for a multipart upload. */
  readonly created: { readonly key: string; readonly event: string }[];
  /** http base URL of `prefix` in the bucket, for the client. */
  url(prefix: string): string;
  /** An S3Store on `prefix` through the AWS SDK, path-style, with the server's fixed credentials. */
  store(prefix: string, options?: Partial<S3StoreOptions>): S3Store;
  close(): Promise<void>;
}

export async function startS3Server(bucket = "ferry-test"): Promise<TestS3Server> {
  const directory = await mkdtemp(join(tmpdir(), "ferry-s3rver-"));
  const S3rver = createRequire(import.meta.url)("s3rver") as S3rverClass;
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const created: { key: string; event: string }[] = [];
  server.on("event", (event) => {
    for (const record of event.Records) {
      if (record.eventName.startsWith("ObjectCreated:"))
        created.push({ key: decodeURIComponent(record.s3.object.key), event: record.eventName });
    }
  });
  const stores: S3Store[] = [];
  return {
    endpoint,
    bucket,
    created,
    url: (prefix) => `${endpoint}/${bucket}/${prefix === "" ? "" : `${prefix}/`}`,
    store(prefix, options = {}) {
      const store = new S3Store(
        {
          bucket,
          prefix,
          endpoint,
          region: "us-east-1",
          forcePathStyle: true,
          credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
          ...options,
        },
        sdk,
      );
      stores.push(store);
      return store;
    },
    async close() {
      for (const store of stores) await store.close();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
