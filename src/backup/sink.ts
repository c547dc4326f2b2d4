/**
 * Where backup bytes go: a file in a local bucket, or an S3/OBS object. Both publish only on
 * `commit()`: a local file is written under a `.part` name and renamed into place; an S3 object is a
 * multipart upload (lib-storage `Upload`) that only becomes visible when completed, and is aborted
 * otherwise. `write` resolves when the destination can take more (backpressure from the file stream
 * or from the upload's part queue), so a backup never buffers more than a few parts.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PassThrough } from 'node:stream';
import { once } from 'node:events';
import { Upload } from '@aws-sdk/lib-storage';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { FerryError } from '../errors/ferry-error.js';
import { isLocalBucket, type BucketConfig } from '../source/bucket-config.js';
import { keyPath } from '../source/local-bucket.js';
import { makeS3Client, mapS3Error } from '../source/s3-client.js';

export interface BackupSink {
  /** Where it goes, for messages: `bucket/key` or a path. */
  readonly name: string;
  /** Bytes accepted so far. */
  readonly bytes: number;
  write(b: Buffer): Promise<void>;
  /** Finishes and publishes under the final name; returns the size. */
  commit(): Promise<number>;
  /** Drops everything written; nothing is left under the final name. Never throws. */
  abort(): Promise<void>;
}

/** Suffix of a local backup file still being written; such files are never listed as backups. */
export const PART_SUFFIX = '.part';

async function writeChunk(ws: WriteStream | PassThrough, b: Buffer, name: string): Promise<void> {
  if (ws.destroyed) throw new FerryError('BACKUP_DEST_FAILED', `writing ${name} failed: stream closed`);
  if (!ws.write(b)) {
    const ac = new AbortController();
    await Promise.race([
      once(ws, 'drain', { signal: ac.signal }),
      once(ws, 'error', { signal: ac.signal }).then(([e]) => {
        throw new FerryError('BACKUP_DEST_FAILED', `writing ${name} failed: ${(e as Error).message}`, {}, { cause: e });
      }),
      once(ws, 'close', { signal: ac.signal }),
    ]).finally(() => ac.abort());
  }
}

export class LocalFileSink implements BackupSink {
  bytes = 0;
  private ws: WriteStream | null = null;
  private failure: Error | null = null;
  readonly part: string;

  constructor(readonly path: string, readonly name: string = path) {
    this.part = path + PART_SUFFIX;
  }

  private async open(): Promise<WriteStream> {
    if (this.ws) return this.ws;
    try {
      await mkdir(dirname(this.path), { recursive: true });
    } catch (err) {
      throw new FerryError('BACKUP_DEST_FAILED', `cannot create the folder for ${this.name}: ${(err as Error).message}`, { file: this.path }, { cause: err });
    }
    this.ws = createWriteStream(this.part, { flags: 'w', highWaterMark: 1 << 20 });
    this.ws.on('error', (e) => {
      this.failure ??= e;
    });
    return this.ws;
  }

  async write(b: Buffer): Promise<void> {
    const ws = await this.open();
    if (this.failure) throw new FerryError('BACKUP_DEST_FAILED', `writing ${this.name} failed: ${this.failure.message}`, { file: this.path });
    this.bytes += b.length;
    await writeChunk(ws, b, this.name);
  }

  async commit(): Promise<number> {
    const ws = await this.open();
    await new Promise<void>((resolve, reject) => ws.end((e?: Error | null) => (e ? reject(e) : resolve()))).catch((e: Error) => {
      throw new FerryError('BACKUP_DEST_FAILED', `finishing ${this.name} failed: ${e.message}`, { file: this.path }, { cause: e });
    });
    if (this.failure) throw new FerryError('BACKUP_DEST_FAILED', `writing ${this.name} failed: ${this.failure.message}`, { file: this.path });
    await rename(this.part, this.path);
    return (await stat(this.path)).size;
  }

  async abort(): Promise<void> {
    const ws = this.ws;
    if (ws && !ws.closed) {
      const closed = once(ws, 'close').catch(() => undefined);
      ws.destroy();
      await closed;
    }
    await rm(this.part, { force: true }).catch(() => undefined);
  }
}

/** Part size of the multipart upload (S3's minimum is 5 MiB); two parts in flight at most. */
const PART_SIZE = 8 * 1024 * 1024;

export class S3Sink implements BackupSink {
  bytes = 0;
  private readonly body = new PassThrough({ highWaterMark: 1 << 20 });
  private readonly upload: Upload;
  private readonly done: Promise<unknown>;
  private failure: unknown = null;
  readonly name: string;

  constructor(client: S3Client, private readonly bucket: string, private readonly key: string) {
    this.name = `${bucket}/${key}`;
    this.upload = new Upload({ client, params: { Bucket: bucket, Key: key, Body: this.body }, partSize: PART_SIZE, queueSize: 2, leavePartsOnError: false });
    this.done = this.upload.done();
    this.done.catch((e: unknown) => {
      this.failure ??= e;
      this.body.destroy();
    });
  }

  async write(b: Buffer): Promise<void> {
    if (this.failure) throw mapDest(this.failure, this.bucket, this.key);
    this.bytes += b.length;
    await writeChunk(this.body, b, this.name);
    if (this.failure) throw mapDest(this.failure, this.bucket, this.key);
  }

  async commit(): Promise<number> {
    this.body.end();
    try {
      await this.done;
    } catch (e) {
      throw mapDest(e, this.bucket, this.key);
    }
    return this.bytes;
  }

  async abort(): Promise<void> {
    this.failure ??= new Error('aborted');
    try {
      await this.upload.abort();
    } catch {
      /* nothing was started, or it already failed */
    }
    this.body.destroy();
    await this.done.catch(() => undefined);
  }
}

function mapDest(e: unknown, bucket: string, key: string): FerryError {
  if (e instanceof FerryError) return e;
  const m = mapS3Error(e, bucket, key);
  return new FerryError('BACKUP_DEST_FAILED', `uploading ${bucket}/${key} failed: ${m.message}`, { bucket, object: key }, { cause: e });
}

/** A bucket's objects for backups: writing, sizing, deleting and linking, local or S3. */
export class BackupBucket {
  private client: S3Client | null = null;

  constructor(readonly config: BucketConfig, private readonly env: NodeJS.ProcessEnv = process.env) {}

  get name(): string {
    return this.config.name;
  }

  private s3(): S3Client {
    this.client ??= makeS3Client(this.config as Exclude<BucketConfig, { path: string }>, this.env);
    return this.client;
  }

  /** Local path of an object (local buckets only). */
  localPath(key: string): string | null {
    return isLocalBucket(this.config) ? keyPath(this.config.path, this.config.name, key) : null;
  }

  sink(key: string): BackupSink {
    const path = this.localPath(key);
    return path ? new LocalFileSink(path, `${this.name}/${key}`) : new S3Sink(this.s3(), this.name, key);
  }

  /** Removes an object and any `.part` left by a dead writer; a missing one is not an error. */
  async remove(key: string): Promise<void> {
    const path = this.localPath(key);
    if (path) {
      await rm(path, { force: true });
      await rm(path + PART_SUFFIX, { force: true });
      return;
    }
    try {
      await this.s3().send(new DeleteObjectCommand({ Bucket: this.name, Key: key }));
    } catch (e) {
      throw mapDest(e, this.name, key);
    }
  }

  /** Removes a record's folder once its files are gone (local buckets; S3 has no folders). */
  async removeFolder(prefix: string): Promise<void> {
    const path = isLocalBucket(this.config) ? keyPath(this.config.path, this.config.name, prefix.replace(/\/+$/, '')) : null;
    if (path) await rmdir(path).catch(() => undefined); // only when empty: never removes a file
  }

  async size(key: string): Promise<number | null> {
    const path = this.localPath(key);
    try {
      if (path) return (await stat(path)).size;
      const h = await this.s3().send(new HeadObjectCommand({ Bucket: this.name, Key: key }));
      return h.ContentLength ?? null;
    } catch {
      return null;
    }
  }

  /** A pre-signed GET URL (S3 buckets only). */
  async presign(key: string, expiresSeconds: number): Promise<string> {
    return getSignedUrl(this.s3(), new GetObjectCommand({ Bucket: this.name, Key: key }), { expiresIn: expiresSeconds });
  }

  close(): void {
    this.client?.destroy();
  }
}
