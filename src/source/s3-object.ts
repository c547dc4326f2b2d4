/**
 * An S3/OBS object as a Blob. HeadObject gives the size (and ETag, so a resumed read cannot mix two
 * versions of the object); GetObject bodies are streamed, and when a body breaks (reset, 5xx, early
 * end) the read resumes with a ranged GET from the first byte not yet received, with bounded retries
 * and exponential backoff. Only reads are retried: they are idempotent.
 */
import { GetObjectCommand, HeadBucketCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { setTimeout as sleep } from 'node:timers/promises';
import { FerryError } from '../errors/ferry-error.js';
import { isTransient, mapS3Error } from './s3-client.js';
import type { Blob } from './blob.js';

export interface S3ReadOptions {
  /** Consecutive failed attempts (without a byte of progress) before SOURCE_IO. */
  retries?: number;
  /** First backoff; doubles per consecutive failure, capped at 8 s. */
  backoffMs?: number;
  /** Size the request claims (DCS `files[].size`); a different real size is SOURCE_SIZE_MISMATCH. */
  expectedSize?: number;
  signal?: AbortSignal;
}

export async function openS3Object(client: S3Client, bucket: string, key: string, o: S3ReadOptions = {}): Promise<Blob> {
  const retries = o.retries ?? 5;
  const backoff = o.backoffMs ?? 200;
  let size: number;
  let etag: string | undefined;
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: o.signal });
    size = head.ContentLength ?? 0;
    etag = head.ETag;
  } catch (err) {
    const mapped = mapS3Error(err, bucket, key);
    if (mapped.code === 'SOURCE_NOT_FOUND') throw await refineNotFound(client, bucket, key, mapped);
    throw mapped;
  }
  if (o.expectedSize !== undefined && o.expectedSize !== size) {
    throw new FerryError('SOURCE_SIZE_MISMATCH', `object ${bucket}/${key} has ${size} bytes, the request says ${o.expectedSize}`, { bucket, object: key, expected: String(o.expectedSize) });
  }
  const name = `s3://${bucket}/${key}`;

  async function* stream(start = 0, end = size): AsyncGenerator<Buffer> {
    let pos = start;
    let failures = 0;
    while (pos < end) {
      try {
        const res = await client.send(
          new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${pos}-${end - 1}`, IfMatch: etag }),
          { abortSignal: o.signal },
        );
        const body = res.Body as AsyncIterable<Uint8Array> | undefined;
        if (!body) throw new Error('response without a body');
        for await (const piece of body) {
          const chunk = Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
          if (chunk.length === 0) continue;
          const take = Math.min(chunk.length, end - pos);
          pos += take;
          failures = 0;
          yield take === chunk.length ? chunk : chunk.subarray(0, take);
          if (pos >= end) break;
        }
        if (pos < end) throw new Error(`body ended early at byte ${pos} of ${end}`);
      } catch (err) {
        if (o.signal?.aborted) throw new FerryError('ABORTED', `reading ${name} stopped`, { bucket, object: key });
        if ((err as { name?: string }).name === 'PreconditionFailed' || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 412) {
          throw new FerryError('SOURCE_IO', `object ${bucket}/${key} changed while it was being read`, { bucket, object: key, offset: pos });
        }
        if (!isTransient(err)) throw mapS3Error(err, bucket, key);
        failures++;
        if (failures > retries) {
          const e = mapS3Error(err, bucket, key);
          throw new FerryError('SOURCE_IO', `${e.message}; gave up after ${retries} retries at byte ${pos}`, { bucket, object: key, offset: pos }, { cause: err });
        }
        await sleep(Math.min(backoff * 2 ** (failures - 1), 8000), undefined, { signal: o.signal }).catch(() => undefined);
      }
    }
  }

  return { name, size, stream };
}

/** A HEAD on a missing object says only 404: ask for the bucket to name which one is missing. */
async function refineNotFound(client: S3Client, bucket: string, key: string, fallback: FerryError): Promise<FerryError> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return fallback;
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404) return new FerryError('SOURCE_NOT_FOUND', `bucket ${bucket} does not exist`, { bucket, object: key });
    return fallback;
  }
}
