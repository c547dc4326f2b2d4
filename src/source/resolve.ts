/**
 * Turns what a user or the API names (a local path, `s3://bucket/key`, `{bucket, key}`) into Blobs.
 * A bucket is looked up in the configured buckets (local directory or S3/OBS endpoint); a bucket
 * not configured is read with the AWS_* environment when it names an endpoint or keys, and
 * otherwise from `<dataRoot>/buckets/<name>`, the embedded default.
 */
import { readdir, stat } from 'node:fs/promises';
import { join, dirname, posix } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { FerryError } from '../errors/ferry-error.js';
import { isLocalBucket, isValidBucketName, type BucketConfig } from './bucket-config.js';
import { openLocalBlob } from './local-blob.js';
import { openLocalBucketObject } from './local-bucket.js';
// The AWS SDK is loaded only when an S3 bucket is actually opened: it costs ~1 s and ~25 MB at
// start-up, which every local-file `ferry inspect`/`import` would otherwise pay.
import type { S3ClientOptions } from './s3-client.js';
import type { S3ReadOptions } from './s3-object.js';
import type { Blob } from './blob.js';

export type InputSpec = string | { bucket: string; key: string; size?: number };

export interface ResolveOptions {
  buckets?: BucketConfig[];
  /** Root of local buckets: bucket `b` is the directory `<dataRoot>/buckets/b`. */
  dataRoot?: string;
  env?: NodeJS.ProcessEnv;
  s3?: S3ReadOptions & S3ClientOptions;
  signal?: AbortSignal;
}

/** A blob plus a way to open files next to it (manifest siblings). */
export interface Located {
  blob: Blob;
  sibling(file: string): Promise<Blob>;
}

/** A local directory named as input. */
export interface LocatedDir {
  dir: string;
  files: string[];
}

export function parseS3Url(s: string): { bucket: string; key: string } | null {
  const m = /^(?:s3|obs):\/\/([^/]+)\/(.+)$/.exec(s);
  return m ? { bucket: m[1]!, key: m[2]! } : null;
}

/** Opens a bucket object (local or S3), with the sibling opener for manifests. */
export class BucketResolver {
  private readonly clients = new Map<string, S3Client>();
  constructor(private readonly o: ResolveOptions) {}

  private config(bucket: string): BucketConfig {
    if (!isValidBucketName(bucket)) throw new FerryError('BAD_ARGUMENT', `${JSON.stringify(bucket)} is not a valid bucket name`, { field: 'bucket_name' });
    const found = this.o.buckets?.find((b) => b.name === bucket);
    if (found) return found;
    const env = this.o.env ?? process.env;
    if (env.AWS_ENDPOINT_URL || env.AWS_ENDPOINT_URL_S3 || env.AWS_ACCESS_KEY_ID || env.AWS_PROFILE) return { name: bucket };
    if (this.o.dataRoot) return { name: bucket, path: join(this.o.dataRoot, 'buckets', bucket) };
    throw new FerryError('SOURCE_NOT_FOUND', `bucket ${bucket} is not configured (no buckets entry, no AWS_* environment, no data root)`, { bucket });
  }

  async open(bucket: string, key: string, expectedSize?: number): Promise<Located> {
    const cfg = this.config(bucket);
    const openKey = async (k: string, size?: number): Promise<Blob> => {
      if (isLocalBucket(cfg)) {
        const blob = await openLocalBucketObject(cfg.path, bucket, k);
        if (size !== undefined && blob.size !== size) {
          throw new FerryError('SOURCE_SIZE_MISMATCH', `object ${bucket}/${k} has ${blob.size} bytes, the request says ${size}`, { bucket, object: k, expected: String(size) });
        }
        return blob;
      }
      const [{ makeS3Client }, { openS3Object }] = await Promise.all([import('./s3-client.js'), import('./s3-object.js')]);
      let client = this.clients.get(bucket);
      if (!client) {
        client = makeS3Client(cfg, this.o.env ?? process.env, this.o.s3);
        this.clients.set(bucket, client);
      }
      return openS3Object(client, bucket, k, { ...this.o.s3, expectedSize: size, signal: this.o.signal });
    };
    const dir = posix.dirname(key);
    return {
      blob: await openKey(key, expectedSize),
      sibling: (file) => openKey(dir === '.' ? file : `${dir}/${file}`),
    };
  }

  close(): void {
    for (const c of this.clients.values()) c.destroy();
    this.clients.clear();
  }
}

/** A local path: a file (with siblings in its directory) or a directory listing. */
export async function locateLocal(path: string): Promise<Located | LocatedDir> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FerryError('SOURCE_NOT_FOUND', `no such file or directory: ${path}`, { file: path });
    if (code === 'EACCES') throw new FerryError('SOURCE_ACCESS_DENIED', `permission denied: ${path}`, { file: path });
    throw new FerryError('SOURCE_IO', `cannot read ${path}: ${(err as Error).message}`, { file: path });
  }
  if (isDir) {
    const names = (await readdir(path, { withFileTypes: true })).filter((d) => d.isFile()).map((d) => d.name).sort();
    return { dir: path, files: names };
  }
  const dir = dirname(path);
  return { blob: await openLocalBlob(path), sibling: (file) => openLocalBlob(join(dir, file)) };
}
