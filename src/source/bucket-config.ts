/**
 * Where a bucket's objects live. A bucket with `path` is a local directory (the embedded default:
 * Ferry runs with no object store); one with `endpoint` (or neither, meaning AWS) is read over the
 * S3 protocol (Huawei OBS speaks it). The API's config loader validates its file with this.
 */
import { FerryError } from '../errors/ferry-error.js';

export interface LocalBucketConfig {
  name: string;
  /** Directory holding the bucket's objects; object keys are paths under it. */
  path: string;
}

export interface S3BucketConfig {
  name: string;
  /** e.g. `https://obs.cn-north-4.myhuaweicloud.com` or `http://127.0.0.1:9000`; omitted for AWS. */
  endpoint?: string;
  region?: string;
  access_key?: string;
  secret_key?: string;
  /** Path-style addressing (`endpoint/bucket/key`), needed by most self-hosted servers. */
  path_style?: boolean;
}

export type BucketConfig = LocalBucketConfig | S3BucketConfig;

export function isLocalBucket(b: BucketConfig): b is LocalBucketConfig {
  return typeof (b as LocalBucketConfig).path === 'string';
}

/** Bucket names as S3 allows them (lower-case, digits, dots, dashes; 3..63), plus `_` which OBS/local dirs accept. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,62}$/;

export function isValidBucketName(name: string): boolean {
  return BUCKET_NAME.test(name) && !name.includes('..');
}

/** Checks one bucket entry from a config file; errors name the field (`buckets[2].endpoint`). */
export function parseBucketConfig(raw: unknown, field = 'bucket'): BucketConfig {
  const bad = (f: string, why: string): FerryError => new FerryError('BAD_ARGUMENT', `invalid bucket config: ${why}`, { field: `${field}.${f}` });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new FerryError('BAD_ARGUMENT', 'bucket config must be an object', { field });
  const o = raw as Record<string, unknown>;
  const str = (k: string): string | undefined => {
    const v = o[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' || v === '') throw bad(k, 'must be a non-empty string');
    return v;
  };
  const name = str('name');
  if (name === undefined) throw bad('name', 'is required');
  if (!isValidBucketName(name)) throw bad('name', `${JSON.stringify(name)} is not a valid bucket name`);
  const path = str('path');
  const s3Keys = ['endpoint', 'region', 'access_key', 'secret_key', 'path_style'].filter((k) => o[k] !== undefined);
  for (const k of Object.keys(o)) {
    if (!['name', 'path', 'endpoint', 'region', 'access_key', 'secret_key', 'path_style'].includes(k)) throw bad(k, 'unknown key');
  }
  if (path !== undefined) {
    if (s3Keys.length) throw bad(s3Keys[0]!, 'a local bucket (path) takes no S3 settings');
    return { name, path };
  }
  const endpoint = str('endpoint');
  if (endpoint !== undefined && !/^https?:\/\/[^\s/]+/.test(endpoint)) throw bad('endpoint', 'must be an http(s) URL');
  const ps = o.path_style;
  if (ps !== undefined && typeof ps !== 'boolean') throw bad('path_style', 'must be true or false');
  const cfg: S3BucketConfig = { name, endpoint, region: str('region'), access_key: str('access_key'), secret_key: str('secret_key'), path_style: ps };
  if ((cfg.access_key === undefined) !== (cfg.secret_key === undefined)) throw bad(cfg.access_key ? 'secret_key' : 'access_key', 'access_key and secret_key go together');
  return cfg;
}
