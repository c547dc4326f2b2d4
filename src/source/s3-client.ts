/**
 * Builds one AWS SDK v3 S3 client per bucket (endpoint, region, path-style, credentials), and maps
 * the SDK's failures to Ferry's codes. Without keys in the config, the SDK's default chain is used
 * (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_PROFILE ...).
 */
import { S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { FerryError } from '../errors/ferry-error.js';
import type { S3BucketConfig } from './bucket-config.js';

export interface S3ClientOptions {
  /** Attempts the SDK makes for one request before it reaches Ferry's own resume logic. */
  maxAttempts?: number;
  connectionTimeoutMs?: number;
  /** Idle socket time after which a request fails (a stalled body resumes from its last byte). */
  socketTimeoutMs?: number;
}

export function makeS3Client(b: S3BucketConfig, env: NodeJS.ProcessEnv = process.env, o: S3ClientOptions = {}): S3Client {
  // The SDK warns on Node < 22 about *future* SDK releases; the version package-lock pins supports
  // Node 20 (Ferry's floor), so the multi-line warning would only clutter every CLI run and log.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const endpoint = b.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  return new S3Client({
    endpoint,
    region: b.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    forcePathStyle: b.path_style ?? (endpoint !== undefined),
    credentials: b.access_key && b.secret_key ? { accessKeyId: b.access_key, secretAccessKey: b.secret_key } : undefined,
    maxAttempts: o.maxAttempts ?? 3,
    requestHandler: { connectionTimeout: o.connectionTimeoutMs ?? 10_000, socketTimeout: o.socketTimeoutMs ?? 30_000 },
    // Ferry checks sizes itself and resumes bodies by range; response checksums do not apply to ranges.
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** HTTP status of an SDK error, when it came from a response. */
export function httpStatus(err: unknown): number | undefined {
  if (err instanceof S3ServiceException) return err.$metadata?.httpStatusCode;
  const m = (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata;
  return m?.httpStatusCode;
}

function errName(err: unknown): string {
  return (err as { name?: string; Code?: string } | null)?.name ?? '';
}

/** True for failures worth retrying: 5xx, throttling, and network-level errors (no response). */
export function isTransient(err: unknown): boolean {
  if (err instanceof FerryError) return false;
  const status = httpStatus(err);
  if (status !== undefined) return status >= 500 || status === 429 || status === 408;
  return true;
}

const NOT_FOUND = new Set(['NoSuchKey', 'NoSuchBucket', 'NotFound']);
const DENIED = new Set(['AccessDenied', 'Forbidden', 'SignatureDoesNotMatch', 'InvalidAccessKeyId', 'InvalidSecurity', 'InvalidToken', 'ExpiredToken']);

/** Maps an SDK error on `bucket/key` to a FerryError naming both. */
export function mapS3Error(err: unknown, bucket: string, key: string): FerryError {
  if (err instanceof FerryError) return err;
  const name = errName(err);
  const status = httpStatus(err);
  const where = { bucket, object: key };
  const detail = err instanceof Error ? err.message : String(err);
  if (name === 'NoSuchBucket') return new FerryError('SOURCE_NOT_FOUND', `bucket ${bucket} does not exist`, where, { cause: err });
  if (NOT_FOUND.has(name) || status === 404) return new FerryError('SOURCE_NOT_FOUND', `object ${key} not found in bucket ${bucket}`, where, { cause: err });
  if (DENIED.has(name) || status === 403 || status === 401) {
    return new FerryError('SOURCE_ACCESS_DENIED', `access to ${bucket}/${key} denied (${name && name !== 'Unknown' ? name : `HTTP ${status}`}): check the bucket's access_key/secret_key`, where, { cause: err });
  }
  return new FerryError('SOURCE_IO', `reading ${bucket}/${key} failed: ${name ? `${name}: ` : ''}${detail}`, where, { cause: err });
}
